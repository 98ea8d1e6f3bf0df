"""Seed archives written by lamina, and decoy files outside them, for the fuzz tests."""

import zipfile

import h5py
import numpy as np
import pytest

import lamina


def _seed_sequential():
    model = lamina.Sequential([
        lamina.Input((4,)), lamina.layers.Dense(3, activation="relu"),
        lamina.layers.Dropout(0.1), lamina.layers.Dense(2),
    ])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    return model


def _seed_functional():
    a = lamina.Input((6,), name="a")
    b = lamina.Input((3,), name="b")
    x = lamina.layers.Dense(4, name="left")(a)
    y = lamina.layers.Dense(4, activation="tanh")(b)
    z = lamina.layers.Concatenate()([x, y])
    model = lamina.Model([a, b], [lamina.layers.Dense(1, name="o1")(z),
                                  lamina.layers.Add()([x, y])])
    model.compile(optimizer="sgd", loss=["mse", "mae"])
    return model


def _seed_recurrent():
    tokens = lamina.Input((5,), dtype="int32")
    x = lamina.layers.Embedding(10, 4)(tokens)
    x = lamina.layers.LSTM(3, return_sequences=True)(x)
    x = lamina.layers.BatchNormalization()(x)
    x = lamina.layers.GlobalAveragePooling1D()(x)
    model = lamina.Model(tokens, lamina.layers.Dense(1)(x))
    model.compile(optimizer=lamina.optimizers.RMSprop(1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(np.ones((4, 5), "int32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    return model


def _seed_nested():
    inputs = lamina.Input((8, 2))
    x = lamina.layers.Conv1D(2, 3, padding="same")(inputs)
    block = lamina.Sequential([lamina.Input((8, 2)), lamina.layers.Dense(2),
                               lamina.layers.LayerNormalization()], name="block")
    x = lamina.layers.Flatten()(block(x))
    model = lamina.Model(inputs, lamina.layers.Dense(1)(x))
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="mse")
    model.fit(np.ones((2, 8, 2), "float32"), np.ones((2, 1), "float32"), epochs=1, verbose=0)
    return model


@pytest.fixture(scope="session")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def seed_members(fuzz_dir):
    """`{seed name: {archive member: bytes}}` of small valid archives written by lamina."""
    from lamina.backend import naming

    seeds = {}
    for name, build in (("sequential", _seed_sequential), ("functional", _seed_functional),
                        ("recurrent", _seed_recurrent), ("nested", _seed_nested)):
        naming.reset_uids()
        lamina.utils.set_random_seed(0)  # the same bytes in every run: examples replay
        path = fuzz_dir / f"{name}.keras"
        build().save(path)
        with zipfile.ZipFile(path) as archive:
            seeds[name] = {info.filename: archive.read(info) for info in archive.infolist()}
    return _Seeds(seeds)


class _Seeds(dict):
    def __repr__(self):  # hypothesis prints the fixtures of a failing case
        return f"<seed archives {sorted(self)}>"


@pytest.fixture(scope="session")
def decoy_files(fuzz_dir):
    """Files outside the archive that mutated h5 links and external storage point at."""
    decoy_h5 = fuzz_dir / "decoy.h5"
    with h5py.File(decoy_h5, "w") as f:
        f["x"] = np.full((4, 3), 7.0, "float32")
    decoy_raw = fuzz_dir / "decoy.raw"
    decoy_raw.write_bytes(np.full(4096, 7.0, "float32").tobytes())
    directory = fuzz_dir / "a_directory"
    directory.mkdir(exist_ok=True)
    return {"decoy_h5": str(decoy_h5), "decoy_raw": str(decoy_raw),
            "missing": str(fuzz_dir / "missing.h5"), "directory": str(directory)}


@pytest.fixture(scope="session")
def archive_path(fuzz_dir):
    """Write archive bytes to the one scratch `.keras` path the fuzz tests reuse."""
    path = fuzz_dir / "case.keras"

    def write(data):
        path.write_bytes(data)
        return str(path)

    return write
