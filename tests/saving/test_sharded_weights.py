"""Sharded weights (`.weights.json` map + `.weights.h5` shards): round trips, atomic writes,
clear errors for missing parts, and one test per attack on the map or a shard, each
asserting the error and that no decoy value reached any weight."""

import json
import os

import h5py
import numpy as np
import pytest

import lamina

DECOY = 1234.5  # distinctive: found in a weight only if the loader read the decoy
SHARD = 20 * 4 / 1024**3  # GB: room for twenty float32 values


def make_model(seed=0):
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4),
                               lamina.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((2, 3), "float32"), np.ones((2, 2), "float32"), verbose=0)
    return model


def values(model):
    return [np.array(v.numpy()) for v in [*model.weights, *model.optimizer.variables]]


def assert_same(a, b):
    for x, y in zip(values(a), values(b), strict=True):
        np.testing.assert_array_equal(x, y)


def assert_untouched(model, before):
    """No weight changed: in particular, no decoy value reached one."""
    for weight, old in zip(model.weights, before, strict=True):
        assert not np.any(np.asarray(weight.numpy()) == DECOY), weight.path
        np.testing.assert_array_equal(weight.numpy(), old)


def save_sharded(tmp_path, model=None):
    directory = tmp_path / "model"
    directory.mkdir(exist_ok=True)
    path = directory / "m.weights.json"
    (model or make_model()).save_weights(path, max_shard_size=SHARD)
    return path


def edit_map(path, edit):
    config = json.loads(path.read_text())
    edit(config["weight_map"])
    path.write_text(json.dumps(config))


def test_sharded_round_trip_restores_weights_and_optimizer(tmp_path):
    source = make_model(0)
    path = save_sharded(tmp_path, source)
    config = json.loads(path.read_text())
    shards = sorted(p.name for p in path.parent.glob("*.weights.h5"))
    assert len(shards) > 2 and shards[0] == "m_00000.weights.h5"
    assert config["metadata"]["total_size"] == sum(x.nbytes for x in values(source))
    assert sorted({s for v in config["weight_map"].values() for s in v}) == shards
    target = make_model(1)
    target.load_weights(path)
    assert_same(source, target)


def test_one_objects_variables_may_span_shards(tmp_path):
    path = save_sharded(tmp_path)
    spans = json.loads(path.read_text())["weight_map"]["/optimizer/vars"]
    assert len(spans) > 1


def test_weights_h5_path_with_max_shard_size_writes_the_json_map(tmp_path):
    with pytest.warns(UserWarning, match=r"written as '.*m\.weights\.json'"):
        make_model().save_weights(tmp_path / "m.weights.h5", max_shard_size=SHARD)
    assert (tmp_path / "m.weights.json").exists()
    assert (tmp_path / "m_00000.weights.h5").exists()
    assert not (tmp_path / "m.weights.h5").exists()


def test_sharded_save_argument_errors(tmp_path):
    model = make_model()
    with pytest.raises(ValueError, match="must end in `.weights.json`"):
        model.save_weights(tmp_path / "m.json", max_shard_size=1)
    with pytest.raises(ValueError, match="positive number of gigabytes"):
        model.save_weights(tmp_path / "m.weights.json", max_shard_size=0)
    save_sharded(tmp_path, model)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(tmp_path / "model" / "m.weights.json", max_shard_size=SHARD,
                           overwrite=False)


def test_a_variable_larger_than_a_shard_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="more than `max_shard_size`"):
        make_model().save_weights(tmp_path / "m.weights.json", max_shard_size=4 / 1024**3)
    assert os.listdir(tmp_path) == []  # no map, no shard, no temporary file


def test_a_failing_sharded_save_leaves_the_previous_files_as_they_were(tmp_path, monkeypatch):
    path = save_sharded(tmp_path)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    model = make_model(1)
    dense = model.layers[1]

    def fail(store):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dense, "save_own_variables", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save_weights(path, max_shard_size=SHARD)
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


def test_missing_shard_is_a_clear_error(tmp_path):
    path = save_sharded(tmp_path)
    os.remove(path.parent / "m_00001.weights.h5")
    model = make_model(1)
    before = values(model)
    with pytest.raises(FileNotFoundError, match=r"names the shard 'm_00001.weights.h5'"):
        model.load_weights(path)
    assert_untouched(model, before[:len(model.weights)])


def test_variable_missing_from_every_shard_is_a_clear_error(tmp_path):
    path = save_sharded(tmp_path)
    for shard in path.parent.glob("*.weights.h5"):
        with h5py.File(shard, "a") as f:
            if "layers/dense_1/vars/1" in f:
                f.move("layers/dense_1/vars/1", "layers/dense_1/vars/7")
    with pytest.raises(ValueError, match=r"No variable '1' stored at 'layers/dense_1/vars' in "
                                         r"any of the shards \['m_000"):
        make_model(1).load_weights(path)
    edit_map(path, lambda weight_map: weight_map.pop("/layers/dense_1/vars"))
    with pytest.raises(ValueError, match=r"expected 2 variables .* holds 0 at "
                                         r"'layers/dense_1/vars'"):
        make_model(1).load_weights(path)


def test_values_for_layers_the_model_lacks_are_an_error(tmp_path):
    path = save_sharded(tmp_path)
    with h5py.File(path.parent / "m_00000.weights.h5", "a") as f:
        f.create_group("layers/ghost/vars").create_dataset("0", data=np.ones(2))
    with pytest.raises(ValueError, match=r"holds values for \['layers/ghost'\]"):
        make_model(1).load_weights(path)


def test_invalid_map_is_a_clear_error(tmp_path):
    path = tmp_path / "m.weights.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a valid sharded weights map"):
        make_model().load_weights(path)
    path.write_text(json.dumps({"weight_map": {"/layers/dense/vars": 3}}))
    with pytest.raises(ValueError, match="is not a '/<path>/vars' key with a shard file name"):
        make_model().load_weights(path)


def test_shards_over_the_load_budget_are_refused_before_reading(tmp_path):
    path = save_sharded(tmp_path)
    model = make_model(1)
    before = [np.array(w.numpy()) for w in model.weights]
    with pytest.raises(ValueError, match=r"more than the load limit of 1000 bytes.*"
                                         r"max_load_bytes=N"):
        lamina.saving.load_weights(model, path, max_load_bytes=1000)
    assert_untouched(model, before)


def test_datasets_declaring_more_than_the_budget_are_refused(tmp_path):
    path = save_sharded(tmp_path)
    shard = json.loads(path.read_text())["weight_map"]["/layers/dense/vars"][0]
    with h5py.File(path.parent / shard, "a") as f:
        del f["layers/dense/vars/0"]  # 16 MB of zeros, compressed to a few KB on disk
        f.create_dataset("layers/dense/vars/0", data=np.zeros((2000, 2000), "float32"),
                         compression="gzip")
    model = make_model(1)
    before = [np.array(w.numpy()) for w in model.weights]
    with pytest.raises(ValueError, match="declare more than the load limit of 1000000 bytes"):
        lamina.saving.load_weights(model, path, max_load_bytes=10**6)
    assert_untouched(model, before)


# -- attacks: each builds its malicious files, expects a clear refusal and no decoy --------

@pytest.fixture
def decoy_shard(tmp_path):
    """A well-formed shard outside the model's directory, full of decoy values."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "evil.weights.h5"
    model = make_model()
    for weight in model.weights:
        weight.assign(np.full(weight.shape, DECOY, "float32"))
    model.save_weights(path)
    return path


def _attack_map(tmp_path, shard_name):
    path = save_sharded(tmp_path)
    edit_map(path, lambda weight_map: weight_map.__setitem__("/layers/dense/vars",
                                                             [shard_name]))
    return path


def _refused(path, match, error=ValueError):
    model = make_model(1)
    before = [np.array(w.numpy()) for w in model.weights]
    with pytest.raises(error, match=match):
        model.load_weights(path)
    assert_untouched(model, before)


def test_attack_absolute_shard_path_is_refused(tmp_path, decoy_shard):
    _refused(_attack_map(tmp_path, str(decoy_shard)), "is an absolute path")


def test_attack_dotdot_shard_path_is_refused(tmp_path, decoy_shard):
    _refused(_attack_map(tmp_path, "../outside/evil.weights.h5"),
             r"leaves the map's directory \('..'\)")


def test_attack_symlink_out_of_the_directory_is_refused(tmp_path, decoy_shard):
    path = _attack_map(tmp_path, "link.weights.h5")
    os.symlink(decoy_shard, path.parent / "link.weights.h5")
    _refused(path, "is a symlink leaving the map's directory")


def test_attack_shard_with_an_external_link_is_refused(tmp_path, decoy_shard):
    path = save_sharded(tmp_path)
    shard = json.loads(path.read_text())["weight_map"]["/layers/dense/vars"][0]
    with h5py.File(path.parent / shard, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(decoy_shard),
                                                     "/layers/dense/vars/0")
    _refused(path, r"'m_00000.weights.h5' at '/layers/dense/vars/0': it is an HDF5 "
                   r"ExternalLink to '.*evil.weights.h5")


@pytest.mark.parametrize("name, match", [
    ("sub/m_00000.weights.h5", "is not a plain file name"),
    ("m.weights.json", r"is not a `.weights.h5` file"),
])
def test_shard_names_outside_the_plain_form_are_refused(tmp_path, name, match):
    _refused(_attack_map(tmp_path, name), match)


def test_a_damaged_shard_is_an_oserror(tmp_path):
    path = save_sharded(tmp_path)
    shard = path.parent / "m_00001.weights.h5"
    shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(OSError, match="m_00001.weights.h5"):
        make_model(1).load_weights(path)
