"""Loading does nothing but read its input: no process, no network, no file written, no
module imported, checked with `sys.addaudithook` in a fresh interpreter (audit hooks
cannot be removed, so each check runs in a subprocess).

The one allowed write: a model whose objects define `load_assets` gets its archive's
assets extracted to a private temporary directory (`lamina-assets-*`), removed after.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

AUDIT = textwrap.dedent('''
    import json, os, sys, tempfile

    EVENTS = []
    ALLOWED_DIR = None  # set by a scenario that expects asset extraction
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    PROCESS = ("subprocess.Popen", "os.system", "os.posix_spawn", "os.fork", "os.forkpty",
               "os.spawn", "os.startfile", "pty.spawn")
    FILE_CHANGES = ("os.mkdir", "os.remove", "os.rename", "os.rmdir", "os.symlink",
                    "os.link", "os.truncate", "os.chmod", "os.chown", "shutil.rmtree",
                    "shutil.copyfile", "shutil.move")

    def allowed(path, dir_fd=None):
        if ALLOWED_DIR is None:
            return False
        path = os.fsdecode(path)
        if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(path):
            # `shutil.rmtree` removes relative to an open directory: resolve it.
            path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        return path.startswith(ALLOWED_DIR)

    def hook(event, args):
        if event in PROCESS or event.startswith(("os.exec", "socket.", "urllib.")):
            EVENTS.append([event, repr(args)[:200]])
        elif event == "import" and args[0] not in sys.modules:
            EVENTS.append([event, args[0]])
        elif event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing and not allowed(path):
                EVENTS.append([event, repr(args)[:200]])
        elif event in FILE_CHANGES and not allowed(args[0], args[-1]):
            EVENTS.append([event, repr(args)[:200]])

    def audited(fn):
        del EVENTS[:]
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - the scenario reports it
            EVENTS.append(["error", f"{type(error).__name__}: {error}"[:300]])
        return list(EVENTS)
''')

# A session: lamina and its loader imported, a model built and called (which loads
# torch's own lazy machinery), files saved. Then the hook goes in, and only loads run.
SESSION = AUDIT + textwrap.dedent('''
    import numpy as np
    import lamina
    from lamina.saving import saving_api  # noqa: F401 - the loader, as `load_model` needs

    root = sys.argv[1]
    tempfile.gettempdir()  # NOTE: its first call probes the temp dir with a test file

    @lamina.saving.register_keras_serializable(package="Audit")
    class Vocabulary(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.words = ["a", "b"]

        def call(self, x):
            return x

        def save_assets(self, dir_path):
            with open(os.path.join(dir_path, "vocab.txt"), "w") as f:
                f.write("\\n".join(self.words))

        def load_assets(self, dir_path):
            with open(os.path.join(dir_path, "vocab.txt")) as f:
                self.words = f.read().split("\\n")

    def functional():
        inputs = lamina.Input((4,))
        x = lamina.layers.Dense(8, activation="relu")(inputs)
        x = lamina.layers.BatchNormalization()(x)
        x = lamina.layers.Dropout(0.1)(x)
        return lamina.Model(inputs, lamina.layers.Dense(2)(x))

    model = functional()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, verbose=0)
    model.save(os.path.join(root, "plain.keras"))
    model.save_weights(os.path.join(root, "plain.weights.h5"))
    model.save_weights(os.path.join(root, "sharded.weights.json"), max_shard_size=1e-6)
    lamina.Sequential([lamina.Input((2,)), Vocabulary(name="vocab")]).save(
        os.path.join(root, "assets.keras"))
    import zipfile
    with zipfile.ZipFile(os.path.join(root, "plain.keras")) as z, zipfile.ZipFile(
            os.path.join(root, "unhooked_assets.keras"), "w") as out:
        for name in z.namelist():
            out.writestr(name, z.read(name))
        out.writestr("assets/dense/vocab.txt", "a")  # no layer defines `load_assets`
    target = functional()
    assets_model = lamina.Sequential([lamina.Input((2,)), Vocabulary(name="vocab")])
    assets_model.layers[0].words = []

    sys.addaudithook(hook)
    results = {
        "load_model": audited(lambda: lamina.saving.load_model(
            os.path.join(root, "plain.keras"))),
        "models.load_model": audited(lambda: lamina.models.load_model(
            os.path.join(root, "plain.keras"), compile=False)),
        "load_weights_h5": audited(lambda: target.load_weights(
            os.path.join(root, "plain.weights.h5"))),
        "load_weights_keras": audited(lambda: target.load_weights(
            os.path.join(root, "plain.keras"))),
        "load_weights_sharded": audited(lambda: target.load_weights(
            os.path.join(root, "sharded.weights.json"))),
        "assets_without_load_assets": audited(lambda: lamina.saving.load_model(
            os.path.join(root, "unhooked_assets.keras"))),
    }
    ALLOWED_DIR = os.path.join(tempfile.gettempdir(), "lamina-assets-")
    before = set(os.listdir(tempfile.gettempdir()))
    loaded = []
    results["load_assets"] = audited(lambda: loaded.append(lamina.saving.load_model(
        os.path.join(root, "assets.keras"))))
    results["assets_read"] = loaded[0].layers[0].words if loaded else None
    results["temp_left"] = sorted(set(os.listdir(tempfile.gettempdir())) - before)
    print("RESULTS" + json.dumps(results))
''')

# A fresh interpreter that has only imported `lamina.models` (what
# `keras.models.load_model(...)` users do): no process, network or write during the call.
FRESH = AUDIT + textwrap.dedent('''
    import lamina.models

    path = sys.argv[1]
    sys.addaudithook(hook)
    events = audited(lambda: lamina.models.load_model(path))
    # A fresh interpreter imports modules on its first load (lamina's lazy families,
    # torch's symbolic machinery); what must not happen is anything else.
    print("RESULTS" + json.dumps([e for e in events if e[0] != "import"]))
''')


def _run(script, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULTS"))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return _run(SESSION, tmp_path_factory.mktemp("audit"))


@pytest.mark.parametrize("scenario", ["load_model", "models.load_model", "load_weights_h5",
                                      "load_weights_keras", "load_weights_sharded",
                                      "assets_without_load_assets"])
def test_loading_starts_no_process_writes_no_file_imports_nothing(session, scenario):
    assert session[scenario] == []


def test_assets_are_the_one_write_and_only_into_a_private_temp_dir(session):
    # The hook refused nothing: every write and mkdir went under `lamina-assets-*`.
    assert session["load_assets"] == []
    assert session["assets_read"] == ["a", "b"]
    assert session["temp_left"] == []  # removed after the `load_assets` calls


def test_a_fresh_process_loading_through_lamina_models_spawns_nothing(session, tmp_path):
    # Before h5py was imported with `lamina.models`, this load spawned `uname -p`
    # (h5py's import probes the platform through `platform.uname()`).
    plain = tmp_path / "plain.keras"
    script = AUDIT + textwrap.dedent('''
        import lamina
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        model.save(sys.argv[1])
        print("RESULTS[]")
    ''')
    _run(script, plain)
    assert _run(FRESH, plain) == []
