"""`run_layer_test`: one call exercises a layer class the way every layer must behave."""

import json

import numpy as np
import torch

from lamina import tree
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.input_layer import Input
from lamina.models.model import Model
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


def run_layer_test(layer_cls, init_kwargs, input_shape=None, input_dtype="float32",
                   input_data=None, call_kwargs=None, expected_output_shape=None,
                   expected_output=None, expected_output_dtype=None,
                   expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None, expected_num_losses=None,
                   supports_masking=None, run_training_check=True, run_symbolic_check=True,
                   run_config_check=True, atol=1e-6, rtol=1e-6):
    """Check a layer class end to end and return the eager output.

    Checks, each with an assertion message naming the step:
    eager call (output shape, dtype, values when `expected_output` is given); weight
    counts; `supports_masking`; `compute_output_shape` agrees with the eager output;
    a symbolic call inside a functional model gives the eager shape (batch `None`) and,
    with the same weights, the same values; config round trip (`from_config(get_config())`
    and the JSON `serialize`/`deserialize` path give the same config and, with copied
    weights, the same outputs); a training step (gradients reach every trainable
    weight); a `state_dict` round trip into a fresh layer.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor keyword arguments.
        input_shape: full input shape, batch included (random data is drawn), or use
            `input_data` (a tensor or array).
        call_kwargs: extra keyword arguments for the calls.

    >>> import lamina
    >>> from lamina.layers.core import Dense
    >>> out = run_layer_test(Dense, {"units": 3}, input_shape=(2, 4),
    ...                      expected_output_shape=(2, 3), expected_num_trainable_weights=2)
    >>> tuple(out.shape)
    (2, 3)
    """
    call_kwargs = dict(call_kwargs or {})
    x = _make_input(input_shape, input_dtype, input_data)
    layer = layer_cls(**init_kwargs)
    out = layer(x, **call_kwargs)

    # -- eager call ----------------------------------------------------------------------
    if expected_output_shape is not None:
        got = tree.map_structure(lambda t: tuple(t.shape), out)
        assert _same_shapes(got, expected_output_shape), (
            f"eager output shape {got} != expected {expected_output_shape}")
    if expected_output_dtype is not None:
        for t in tree.flatten(out):
            assert t.dtype == to_torch_dtype(expected_output_dtype), (
                f"output dtype {t.dtype} != expected {expected_output_dtype}")
    if expected_output is not None:
        for got, want in zip(tree.flatten(out), tree.flatten(expected_output)):
            np.testing.assert_allclose(_np(got), np.asarray(want), atol=atol, rtol=rtol,
                                       err_msg="eager output != expected_output")
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, (
            f"{len(layer.trainable_weights)} trainable weights, expected "
            f"{expected_num_trainable_weights}")
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, (
            f"{len(layer.non_trainable_weights)} non-trainable weights, expected "
            f"{expected_num_non_trainable_weights}")
    if expected_num_losses is not None:
        assert len(layer.losses) == expected_num_losses, (
            f"{len(layer.losses)} losses, expected {expected_num_losses}")
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking, (
            f"supports_masking is {layer.supports_masking}, expected {supports_masking}")
    assert layer.count_params() == sum(int(np.prod(w.shape)) for w in layer.weights)

    # -- compute_output_shape --------------------------------------------------------------
    in_shapes = tree.map_structure(lambda t: tuple(t.shape), x)
    predicted = layer.compute_output_shape(in_shapes)
    got = tree.map_structure(lambda t: tuple(t.shape), out)
    assert _same_shapes(predicted, got), (
        f"compute_output_shape({in_shapes}) = {predicted}, but the eager output is {got}")

    # -- symbolic call in a functional model -----------------------------------------------
    if run_symbolic_check:
        _check_symbolic(layer_cls, init_kwargs, layer, x, out, call_kwargs, atol, rtol)

    # -- config round trip -----------------------------------------------------------------
    if run_config_check:
        _check_config(layer_cls, layer, x, out, call_kwargs, atol, rtol)

    # -- training step ---------------------------------------------------------------------
    if run_training_check and layer.trainable_weights:
        for w in layer.trainable_weights:
            w.grad = None
        train_out = layer(x, training=True, **call_kwargs)
        loss = sum(t.float().sum() for t in tree.flatten(train_out)
                   if isinstance(t, torch.Tensor) and t.requires_grad)
        assert isinstance(loss, torch.Tensor), "no output depends on the trainable weights"
        loss = loss + sum(l.sum() for l in layer.losses) if layer.losses else loss
        loss.backward()
        missing = [w.path for w in layer.trainable_weights if w.grad is None]
        assert not missing, f"training step: no gradient for trainable weights {missing}"
        for w in layer.trainable_weights:
            w.grad = None

    # -- state_dict round trip -------------------------------------------------------------
    fresh = layer_cls.from_config(_unsafe_config(layer))
    fresh(x, **call_kwargs)
    state = layer.state_dict()
    assert list(fresh.state_dict()) == list(state), (
        f"state_dict keys differ: {list(fresh.state_dict())} vs {list(state)}")
    fresh.load_state_dict(state)
    _assert_same(fresh(x, **call_kwargs), out, atol, rtol, "after load_state_dict")
    return out


def _make_input(input_shape, input_dtype, input_data):
    if input_data is not None:
        return tree.map_structure(
            lambda a: a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a)),
            input_data)
    if input_shape is None:
        raise ValueError("run_layer_test needs `input_shape` or `input_data`.")
    generator = torch.Generator().manual_seed(1337)

    def draw(shape, dtype):
        dtype = to_torch_dtype(dtype)
        if dtype.is_floating_point:
            return torch.randn(tuple(shape), generator=generator).to(dtype)
        if dtype == torch.bool:
            return torch.randint(0, 2, tuple(shape), generator=generator).bool()
        return torch.randint(0, 10, tuple(shape), generator=generator).to(dtype)

    if _is_shape(input_shape):
        return draw(input_shape, input_dtype)
    dtypes = input_dtype if isinstance(input_dtype, (list, tuple)) else [input_dtype] * len(
        input_shape)
    return [draw(s, d) for s, d in zip(input_shape, dtypes)]


def _check_symbolic(layer_cls, init_kwargs, layer, x, out, call_kwargs, atol, rtol):
    def make_input(t):
        return Input(shape=tuple(t.shape[1:]), dtype=str(t.dtype).replace("torch.", ""))

    sym_layer = layer_cls(**init_kwargs)
    inputs = tree.map_structure(make_input, x)
    sym_out = sym_layer(inputs, **call_kwargs)
    eager_shapes = tree.map_structure(lambda t: (None, *tuple(t.shape)[1:]), out)
    sym_shapes = tree.map_structure(lambda t: tuple(t.shape), sym_out)
    assert _same_shapes(sym_shapes, eager_shapes), (
        f"symbolic output shape {sym_shapes} != eager output shape {eager_shapes} "
        "(batch axis as None)")
    model = Model(inputs, sym_out)
    sym_layer.set_weights(layer.get_weights())
    _assert_same(model(x), out, atol, rtol, "functional model with copied weights")


def _check_config(layer_cls, layer, x, out, call_kwargs, atol, rtol):
    config = _unsafe_config(layer)
    clone = layer_cls.from_config(config)
    assert _normalize(clone.get_config()) == _normalize(config), (
        f"from_config(get_config()) changed the config:\n{clone.get_config()}\nvs\n{config}")
    serialized = json.loads(json.dumps(serialize_keras_object(layer)))
    revived = deserialize_keras_object(serialized, safe_mode=False)
    assert type(revived) is layer_cls, f"deserialized a {type(revived).__name__}"
    assert _normalize(revived.get_config()) == _normalize(config), (
        "the JSON serialize/deserialize round trip changed the config")
    for other in (clone, revived):
        other(x, **call_kwargs)
        other.set_weights(layer.get_weights())
        _assert_same(other(x, **call_kwargs), out, atol, rtol,
                     "config round trip with copied weights")


def _unsafe_config(layer):
    """The layer's config, read back through JSON (as a saved file would give it)."""
    return json.loads(json.dumps(layer.get_config(), default=_json_default))


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"Config value {value!r} of type {type(value).__name__} is not JSON-able.")


def _normalize(config):
    return json.loads(json.dumps(config, default=_json_default))


def _assert_same(got, want, atol, rtol, what):
    for g, w in zip(tree.flatten(got), tree.flatten(want), strict=True):
        np.testing.assert_allclose(_np(g), _np(w), atol=atol, rtol=rtol, err_msg=what)


def _np(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy()
    return np.asarray(t)


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(
        d is None or isinstance(d, int) for d in value)


def _same_shapes(a, b):
    return _normalize(a) == _normalize(b)
