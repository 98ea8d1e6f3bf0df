"""The galleries and plot_history draw with matplotlib (Agg backend here) and write files."""

import sys

import matplotlib
import numpy as np
import pytest

import lamina
from lamina import visualization
from lamina.visualization import galleries

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 1, (4, 16, 20, 3)).astype("float32")


def test_plot_image_gallery_saves_a_grid_with_titles(images, tmp_path):
    path = tmp_path / "gallery.png"
    titles = []
    original = plt.Axes.set_title
    try:
        plt.Axes.set_title = lambda self, text, **kw: titles.append(text)
        visualization.plot_image_gallery(images, y_true=[0, 1, 1, 0], y_pred=[0, 1, 0, 2],
                                         label_map={0: "cat", 1: "dog"}, value_range=(0, 1),
                                         path=path, dpi=30)
    finally:
        plt.Axes.set_title = original
    assert titles == ["Label: cat  Pred: cat", "Label: dog  Pred: dog",
                      "Label: dog  Pred: cat", "Label: cat  Pred: Unknown"]
    assert matplotlib.image.imread(path).ndim == 3
    assert not plt.get_fignums()  # closed after saving


def test_plot_image_gallery_rescales_values_and_fills_a_partial_grid(images, monkeypatch):
    shown = []
    monkeypatch.setattr(plt.Axes, "imshow", lambda self, image, **kw: shown.append(image))
    monkeypatch.setattr(plt, "show", lambda: None)
    visualization.plot_image_gallery(images[:3], value_range=(0, 1))
    assert len(shown) == 3  # a 2x2 grid, the last cell left empty
    np.testing.assert_array_equal(shown[0], (images[0] * 255.0).astype("uint8"))
    shown.clear()
    visualization.plot_image_gallery(images.transpose(0, 3, 1, 2) * 255, rows=1,
                                     data_format="channels_first", show=True)
    assert len(shown) == 4 and shown[0].shape == (16, 20, 3)


def test_plot_image_gallery_rejects_conflicting_or_missing_arguments(images, tmp_path):
    with pytest.raises(ValueError, match="either `path` to be set, or `show`"):
        visualization.plot_image_gallery(images, path=tmp_path / "x.png", show=True)
    with pytest.raises(ValueError, match="a `label_map` must also be provided"):
        visualization.plot_image_gallery(images, y_true=[0, 1, 0, 1], path=tmp_path / "x.png")
    with pytest.raises(ValueError, match="requires you to batch"):
        visualization.plot_image_gallery(images[0], path=tmp_path / "x.png")


def test_plot_bounding_box_gallery_draws_true_then_predicted_boxes(images, monkeypatch):
    captured = {}
    monkeypatch.setattr(galleries, "plot_image_gallery",
                        lambda gallery, **kw: captured.update(gallery=gallery, **kw))
    y_true = {"boxes": np.array([[[1, 1, 10, 10]]] * 4, "float32"), "labels": np.zeros((4, 1))}
    y_pred = {"boxes": np.array([[[5, 5, 15, 12]]] * 4, "float32"), "labels": np.ones((4, 1))}
    visualization.plot_bounding_box_gallery(images, "xyxy", y_true=y_true, y_pred=y_pred,
                                            value_range=(0, 1), legend=True,
                                            class_mapping={0: "a", 1: "b"}, path="unused.png")
    expected = visualization.draw_bounding_boxes(images * 255, y_true, "xyxy",
                                                 class_mapping={0: "a", 1: "b"},
                                                 color=(0, 188, 212), text_thickness=None)
    expected = visualization.draw_bounding_boxes(expected, y_pred, "xyxy",
                                                 class_mapping={0: "a", 1: "b"},
                                                 color=(255, 235, 59), text_thickness=None)
    np.testing.assert_array_equal(captured["gallery"], expected)
    assert captured["value_range"] == (0, 255) and captured["path"] == "unused.png"
    assert [h.get_label() for h in captured["legend_handles"]] == ["Ground Truth", "Prediction"]
    with pytest.raises(ValueError, match="Only pass `legend` OR `legend_handles`"):
        visualization.plot_bounding_box_gallery(images, "xyxy", legend=True, legend_handles=[1])


def test_plot_segmentation_mask_gallery_puts_image_true_and_predicted_in_a_row(images,
                                                                               tmp_path):
    masks = np.random.default_rng(1).integers(0, 3, (4, 16, 20, 1))
    path = tmp_path / "masks.png"
    visualization.plot_segmentation_mask_gallery(images * 255, num_classes=3, y_true=masks,
                                                 y_pred=masks[::-1], path=path, dpi=30)
    assert matplotlib.image.imread(path).shape[2] == 4  # RGBA, transparent background

    captured = {}
    original = galleries.plot_image_gallery
    try:
        galleries.plot_image_gallery = lambda gallery, **kw: captured.update(gallery=gallery,
                                                                             **kw)
        visualization.plot_segmentation_mask_gallery(images, 3, value_range=(0, 1),
                                                     y_true=masks)
    finally:
        galleries.plot_image_gallery = original
    assert (captured["rows"], captured["cols"]) == (4, 2)
    np.testing.assert_allclose(captured["gallery"][0], images[0] * 255, rtol=1e-6)
    np.testing.assert_array_equal(
        captured["gallery"][1],
        visualization.draw_segmentation_masks(images * 255, masks, num_classes=3)[0])


def test_plot_history_draws_train_and_validation_curves(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    history = model.fit(x, x[:, :1], validation_split=0.25, epochs=3, verbose=0)
    path = tmp_path / "history.png"
    fig = visualization.plot_history(history, path=path)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert [axis.get_title() for axis in fig.axes] == ["loss", "mae"]
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train", "validation"]
    np.testing.assert_allclose(lines[0].get_ydata(), history.history["loss"])
    np.testing.assert_allclose(lines[1].get_ydata(), history.history["val_loss"])
    only = visualization.plot_history(history.history, metrics=["mae"], show=False)
    assert [axis.get_title() for axis in only.axes] == ["mae"]
    plt.close(only)
    with pytest.raises(ValueError, match=r"no logs named \['acc'\]"):
        visualization.plot_history(history, metrics=["acc"], show=False)
    with pytest.raises(ValueError, match="needs the History returned by `fit`"):
        visualization.plot_history({}, show=False)


def test_galleries_without_matplotlib_say_how_to_install_it(images, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"`plot_image_gallery` needs matplotlib.*lamina\[plot\]"):
        visualization.plot_image_gallery(images)
    with pytest.raises(ImportError, match=r"`plot_history` needs matplotlib"):
        visualization.plot_history({"loss": [1.0]})
