"""`lamina.distribution`'s objects in one process: Keras 3's names, defaults and errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import distribution


def test_single_process_lists_one_cpu_device_and_sets_no_distribution():
    assert distribution.list_devices("cpu") == ["cpu:0"]
    assert distribution.get_device_count("cpu") == 1
    assert distribution.distribution() is None
    assert distribution.list_devices("gpu") == [f"gpu:{i}" for i in
                                               range(torch.cuda.device_count())]


def test_device_mesh_checks_shape_axis_names_and_devices():
    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"],
                                   devices=[f"cpu:{i}" for i in range(4)])
    assert mesh.shape == (2, 2) and mesh.axis_names == ["batch", "model"]
    assert mesh.devices.shape == (2, 2) and mesh.devices[1, 0] == "cpu:2"
    with pytest.raises(ValueError, match="Shape and axis_names cannot be empty"):
        distribution.DeviceMesh((), [])
    with pytest.raises(ValueError, match="should have same size"):
        distribution.DeviceMesh((2,), ["batch", "model"], devices=["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="Shape does not match the number of devices"):
        distribution.DeviceMesh((3,), ["batch"], devices=["cpu:0", "cpu:1"])


def test_tensor_layout_validates_axes_against_its_mesh():
    mesh = distribution.DeviceMesh((2,), ["model"], devices=["cpu:0", "cpu:1"])
    layout = distribution.TensorLayout((None, "model"))
    layout.device_mesh = mesh
    assert layout.axes == (None, "model")
    placements = layout.backend_layout
    assert [type(p).__name__ for p in placements] == ["Shard"] and placements[0].dim == 1
    with pytest.raises(ValueError, match="Cannot override device mesh"):
        layout.device_mesh = mesh
    with pytest.raises(ValueError, match="Invalid axis names for Layout"):
        distribution.TensorLayout(("data",), mesh)


def test_layout_map_matches_paths_by_full_regex_and_rejects_ambiguity():
    mesh = distribution.DeviceMesh((2,), ["model"], devices=["cpu:0", "cpu:1"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = distribution.TensorLayout(("model",))
    assert layout_map["model/dense_1/kernel"].axes == (None, "model")
    assert layout_map["model/dense_1/kernel"].device_mesh is mesh
    assert layout_map["model/dense_1/bias"].device_mesh is mesh
    assert layout_map["conv/kernel"] is None
    assert len(layout_map) == 2 and list(layout_map) == [".*dense.*kernel", ".*dense.*bias"]
    with pytest.raises(ValueError, match="already exist in the LayoutMap"):
        layout_map[".*dense.*bias"] = ("model",)
    with pytest.raises(ValueError, match="should be a TensorLayout type"):
        layout_map["other"] = "model"
    layout_map[".*kernel"] = (None, None)
    with pytest.raises(ValueError, match="matches multiple layout specification keys"):
        layout_map["model/dense_1/kernel"]  # noqa: B018
    del layout_map[".*kernel"]
    assert len(layout_map) == 2


def test_data_parallel_defaults_to_every_device_on_a_batch_axis():
    dp = distribution.DataParallel()
    assert dp.batch_dim_name == "batch" and dp.num_model_replicas == dp.device_mesh.devices.size
    assert dp.auto_shard_dataset is True and dp.num_processes == 1
    assert dp.get_data_layout((8, 3)).axes == ("batch", None)
    variable = lamina.Variable(np.zeros((3, 4), "float32"))
    assert dp.get_variable_layout(variable).axes == (None, None)
    assert dp.get_tensor_layout("any/path") is None
    with pytest.raises(ValueError, match="Expect `mesh` to be an instance of `DeviceMesh`"):
        distribution.DataParallel(device_mesh="mesh")


def test_model_parallel_takes_layouts_from_its_map():
    mesh = distribution.DeviceMesh((1, 2), ["batch", "model"], devices=["cpu:0", "cpu:1"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*kernel"] = (None, "model")
    mp = distribution.ModelParallel(layout_map=layout_map)
    assert mp.batch_dim_name == "batch" and mp.num_model_replicas == 1
    dense = lamina.layers.Dense(4)
    dense.build((None, 3))
    assert mp.get_variable_layout(dense.kernel).axes == (None, "model")
    assert mp.get_variable_layout(dense.bias).axes == (None,)
    with pytest.raises(ValueError, match="You must specify a layout_map argument"):
        distribution.ModelParallel()
    with pytest.raises(ValueError, match="must be a `LayoutMap` instance"):
        distribution.ModelParallel(layout_map={})


def test_set_distribution_and_scope():
    dp = distribution.DataParallel()
    with dp.scope():
        assert distribution.distribution() is dp
    assert distribution.distribution() is None
    distribution.set_distribution(dp)
    try:
        assert distribution.distribution() is dp
    finally:
        distribution.set_distribution(None)


def test_one_process_fit_under_data_parallel_is_plain_fit():
    x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    losses = []
    for dist in (None, distribution.DataParallel()):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        model.compile("sgd", "mse")
        distribution.set_distribution(dist)
        try:
            losses.append(model.fit(x, x[:, :1], epochs=2, verbose=0).history["loss"])
        finally:
            distribution.set_distribution(None)
    assert losses[0] == losses[1]


def test_distribute_tensor_is_identity_in_one_process():
    t = torch.ones(2, 2)
    layout = distribution.TensorLayout((None, None))
    assert distribution.distribute_tensor(t, layout) is t


def test_initialize_needs_a_launcher_or_arguments(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                 "KERAS_DISTRIBUTION_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="torchrun --nproc_per_node"):
        distribution.initialize()
    with pytest.raises(ValueError, match=r"`process_id` must be in \[0, num_processes\)"):
        distribution.initialize(num_processes=2, process_id=2)


def test_processes_other_than_0_write_no_files(tmp_path, monkeypatch):
    from lamina.callbacks import backup_and_restore, csv_logger, model_checkpoint, tensorboard

    for module in (backup_and_restore, csv_logger, model_checkpoint, tensorboard):
        monkeypatch.setattr(module, "is_chief", lambda: False)
    x = np.ones((8, 3), "float32")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    callbacks = [lamina.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
                 lamina.callbacks.CSVLogger(str(tmp_path / "log.csv")),
                 lamina.callbacks.BackupAndRestore(str(tmp_path / "backup"),
                                                   delete_checkpoint=False),
                 lamina.callbacks.TensorBoard(str(tmp_path / "tb"), update_freq=1)]
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=callbacks)
    assert list(tmp_path.iterdir()) == []


def _sharding_plan(build, layouts):
    """`ModelSharding.make_plan()` of a model over a (1, 2) ["batch", "model"] mesh (no
    process group needed to plan)."""
    from lamina.trainers.sharding import ModelSharding

    mesh = distribution.DeviceMesh((1, 2), ["batch", "model"], devices=["cpu:0", "cpu:1"])
    layout_map = distribution.LayoutMap(mesh)
    for key, axes in layouts.items():
        layout_map[key] = axes
    model = lamina.Sequential([lamina.Input((4,)), *build()])
    sharding = ModelSharding(model, distribution.ModelParallel(layout_map=layout_map))
    sharding.make_plan()
    return [(variable.path, dim) for _, _, variable, dim in sharding.plan]


def test_sharding_plan_takes_the_variables_the_layout_map_splits():
    plan = _sharding_plan(lambda: [lamina.layers.Dense(6, name="a"),
                                   lamina.layers.Dense(2, name="b")],
                          {".*/a/kernel": (None, "model"), ".*/b/kernel": ("model", None),
                           ".*bias": (None,)})
    assert [(path.split("/", 1)[1], dim) for path, dim in plan] == [("a/kernel", 1),
                                                                   ("b/kernel", 0)]
    # Axes over the batch axis, or of size 1, shard nothing.
    assert _sharding_plan(lambda: [lamina.layers.Dense(6)],
                          {".*kernel": ("batch", None)}) == []


def test_sharding_plan_rejects_what_fsdp_cannot_shard():
    with pytest.raises(ValueError, match=r"/dense\w*/kernel' of shape \(4, 5\) cannot be "
                                         r"split evenly over mesh axis 'model' \(2 devices\)"):
        _sharding_plan(lambda: [lamina.layers.Dense(5)], {".*kernel": (None, "model")})
    with pytest.raises(ValueError, match="names 1 axes, but the variable has 2 dimensions"):
        _sharding_plan(lambda: [lamina.layers.Dense(4)], {".*kernel": ("model",)})
    with pytest.raises(ValueError, match="has a regularizer or constraint"):
        _sharding_plan(lambda: [lamina.layers.Dense(4, kernel_regularizer="l2")],
                       {".*kernel": (None, "model")})
    with pytest.raises(NotImplementedError, match="sharding more than one dimension"):
        mesh_axes = {".*kernel": ("model", "model")}
        _sharding_plan(lambda: [lamina.layers.Dense(4)], mesh_axes)
