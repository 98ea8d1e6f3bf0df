import numpy as np
import pytest
import torch

import lamina
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.testing import run_layer_test


@pytest.fixture(autouse=True)
def _exported(monkeypatch):
    # NOTE: deserialization resolves classes through `lamina.layers`; until it re-exports
    # the merging layers, expose them there for the duration of each test.
    for cls in (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract):
        monkeypatch.setattr(lamina.layers, cls.__name__, cls, raising=False)


RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3, 4)).astype("float32")
B = RNG.standard_normal((2, 3, 4)).astype("float32")
C = RNG.standard_normal((2, 3, 4)).astype("float32")

ELEMENTWISE = [
    (Add, lambda *xs: sum(xs)),
    (Subtract, lambda a, b: a - b),
    (Multiply, lambda *xs: np.prod(xs, axis=0)),
    (Average, lambda *xs: np.mean(xs, axis=0)),
    (Maximum, lambda *xs: np.max(xs, axis=0)),
    (Minimum, lambda *xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize("cls,reference", ELEMENTWISE)
def test_elementwise_merge_passes_layer_test(cls, reference):
    out = run_layer_test(cls, {}, input_data=[A, B], expected_output_shape=(2, 3, 4),
                         expected_output=reference(A, B), expected_num_trainable_weights=0,
                         supports_masking=True)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("cls,reference", [e for e in ELEMENTWISE if e[0] is not Subtract])
def test_elementwise_merge_of_three_inputs(cls, reference):
    out = cls()([A, B, C])
    np.testing.assert_allclose(out.numpy(), reference(A, B, C), rtol=1e-6, atol=1e-6)


def test_merge_broadcasts_lower_rank_input_after_batch_axis():
    y = RNG.standard_normal((2, 4)).astype("float32")
    out = Add()([A, y])
    np.testing.assert_allclose(out.numpy(), A + y[:, None, :], rtol=1e-6)
    assert Add().compute_output_shape([(None, 3, 4), (None, 4)]) == (None, 3, 4)
    assert Maximum().compute_output_shape([(None, 3, 1), (2, 1, 5)]) == (2, 3, 5)


def test_merge_symbolic_unknown_sizes():
    a, b = lamina.Input((None, 4)), lamina.Input((5, 4))
    assert Add()([a, b]).shape == (None, None, 4)


@pytest.mark.parametrize("fn,cls", [(add, Add), (subtract, Subtract), (multiply, Multiply),
                                    (average, Average), (maximum, Maximum),
                                    (minimum, Minimum)])
def test_functional_forms_build_the_layer(fn, cls):
    a, b = lamina.Input((3, 4)), lamina.Input((3, 4))
    out = fn([a, b], name="merged")
    model = lamina.Model([a, b], out)
    assert isinstance(model.get_layer("merged"), cls)
    np.testing.assert_allclose(model([A, B]).detach().numpy(), cls()([A, B]).numpy())


def test_merge_rejects_incompatible_shapes():
    with pytest.raises(ValueError, match=r"incompatible shapes. Received shapes \(3,\) and "
                                         r"\(4,\)"):
        Add()([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match="incompatible shapes"):
        Multiply()([lamina.Input((3, 4)), lamina.Input((3,))])


def test_merge_rejects_different_batch_sizes():
    with pytest.raises(ValueError, match="different batch sizes.*\\(2, 3\\), \\(1, 3\\)"):
        Add()([torch.ones(2, 3), torch.ones(1, 3)])


def test_merge_rejects_a_single_tensor():
    with pytest.raises(ValueError, match="list of inputs. Received: input_shape=\\(2, 3\\)"):
        Add()(torch.ones(2, 3))


def test_subtract_rejects_three_inputs():
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([A, B, C])


# -- masks -----------------------------------------------------------------------------
M1 = torch.tensor([[True, True, False, False]])
M2 = torch.tensor([[True, False, True, False]])
X = torch.tensor([[[3.0], [5.0], [7.0], [-2.0]]])
Y = torch.tensor([[[2.0], [-4.0], [11.0], [13.0]]])


def masked(x, m):
    x = x.clone()
    x._keras_mask = m
    return x


def test_merge_mask_is_union_of_input_masks():
    out = Add()([masked(X, M1), masked(Y, M2)])
    assert out._keras_mask.tolist() == [[True, True, True, False]]
    assert Add().compute_mask([X, Y], [M1, None]) is None
    assert Add().compute_mask([X, Y], None) is None


@pytest.mark.parametrize("cls,expected", [
    (Add, [5.0, 1.0, 18.0, 11.0]),           # masks do not change sums
    (Average, [2.5, 0.5, 9.0, 5.5]),
    (Multiply, [6.0, 5.0, 11.0, 0.0]),       # masked entry counts as 1, all-masked is 0
    (Maximum, [3.0, 5.0, 11.0, -2.0]),       # only unmasked entries compete
    (Minimum, [2.0, 5.0, 11.0, -2.0]),       # all-masked keeps the first input
])
def test_masked_merge_values(cls, expected):
    out = cls()([masked(X, M1), masked(Y, M2)])
    assert out.flatten().tolist() == expected


def test_masked_merge_with_one_unmasked_input():
    out = Multiply()([masked(X, M1), Y])
    assert out.flatten().tolist() == [6.0, -20.0, 11.0, 13.0]
    assert getattr(out, "_keras_mask", None) is None


def test_merge_compute_mask_rejects_bad_masks():
    with pytest.raises(ValueError, match="`mask` should be a list"):
        Add().compute_mask([X, Y], M1)
    with pytest.raises(ValueError, match="same length"):
        Add().compute_mask([X, Y], [M1])


# -- Concatenate -----------------------------------------------------------------------
def test_concatenate_passes_layer_test():
    run_layer_test(Concatenate, {"axis": 1}, input_data=[A, B[:, :2]],
                   expected_output_shape=(2, 5, 4),
                   expected_output=np.concatenate([A, B[:, :2]], axis=1),
                   supports_masking=True)


def test_concatenate_functional_form_and_unknown_sizes():
    a, b = lamina.Input((None, 5)), lamina.Input((4, 5))
    assert concatenate([a, b], axis=1).shape == (None, None, 5)
    assert concatenate([lamina.Input((3,)), lamina.Input((4,))]).shape == (None, 7)


def test_concatenate_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        Concatenate()([torch.ones(2, 3, 5), torch.ones(2, 4, 5)])
    with pytest.raises(ValueError, match="matching shapes"):
        Concatenate()([lamina.Input((3, 5)), lamina.Input((5,))])


def test_concatenate_mask_concatenates_along_axis():
    m1 = torch.tensor([[True, True, False]])
    out = Concatenate(axis=1)([masked(torch.ones(1, 3, 2), m1), torch.ones(1, 2, 2)])
    assert out._keras_mask.tolist() == [[True, True, False, True, True]]
    # Along the feature axis a step is valid when any of its parts is.
    m2 = torch.tensor([[False, True, False]])
    mask = Concatenate().compute_mask([torch.ones(1, 3, 2)] * 2, [m1, m2])
    assert mask.tolist() == [[True, True, False]]


# -- Dot -------------------------------------------------------------------------------
def test_dot_passes_layer_test():
    x, y = A[:, :, :3], RNG.standard_normal((2, 5, 3)).astype("float32")
    run_layer_test(Dot, {"axes": 2}, input_data=[x, y], expected_output_shape=(2, 3, 5),
                   expected_output=np.einsum("bik,bjk->bij", x, y), atol=1e-5, rtol=1e-5,
                   supports_masking=True)


def test_dot_of_vectors_is_column():
    x, y = A[:, 0], B[:, 0]
    out = dot([x, y], axes=1)
    assert out.shape == (2, 1)
    np.testing.assert_allclose(out.numpy()[:, 0], (x * y).sum(-1), rtol=1e-5)


def test_dot_different_axes_and_ranks():
    x = RNG.standard_normal((2, 5, 3, 2)).astype("float32")
    y = RNG.standard_normal((2, 5, 4)).astype("float32")
    out = Dot(axes=(1, 1))([x, y])
    np.testing.assert_allclose(out.numpy(), np.einsum("bkij,bkl->bijl", x, y), rtol=1e-5,
                               atol=1e-5)
    assert Dot(axes=(1, 1)).compute_output_shape([(None, 5, 3, 2), (None, 5, 4)]) == (
        None, 3, 2, 4)


def test_dot_normalize_gives_cosine_similarity():
    x, y = A[:, 0], B[:, 0]
    out = Dot(axes=-1, normalize=True)([x, y]).numpy()[:, 0]
    cos = (x * y).sum(-1) / np.linalg.norm(x, axis=-1) / np.linalg.norm(y, axis=-1)
    np.testing.assert_allclose(out, cos, rtol=1e-5)


def test_dot_output_has_no_mask():
    assert Dot(axes=2).compute_mask([X, Y], [M1, M2]) is None


@pytest.mark.parametrize("axes,error,match", [
    ("a", TypeError, "should be a list or an int. Received: axes=a"),
    ((1, 1, 1), ValueError, "should contain two elements"),
    ([1, "a"], ValueError, "list elements should be integers"),
])
def test_dot_rejects_bad_axes(axes, error, match):
    with pytest.raises(error, match=match):
        Dot(axes=axes)


def test_dot_rejects_mismatched_axis_sizes():
    with pytest.raises(ValueError, match=r"axis values 3 \(at axis 1\) != 4 \(at axis 1\)"):
        Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        Dot(axes=1)([A, B, C])
    with pytest.raises(ValueError, match="batch axis"):
        Dot(axes=0)([torch.ones(2, 3), torch.ones(2, 3)])
