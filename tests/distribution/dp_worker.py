"""What each process of the data-parallel tests runs (spawned by `test_data_parallel.py`).

One job runs every check, as process start-up dominates the cost: `fit` on arrays,
a generator, a PyDataset and a DataLoader; `evaluate`; `predict`; ModelCheckpoint,
CSVLogger and BackupAndRestore. Each process writes what it saw to `rank<r>.pt`.
"""

import contextlib
import os
import warnings

import numpy as np
import torch

import lamina
from lamina import distribution

SAMPLES, FEATURES, BATCH = 49, 5, 16  # 16, 16, 16, 1: the last batch leaves rank 1 empty


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = (x @ rng.normal(size=(FEATURES, 2))).astype("float32")
    return x, y


def make_model(steps_per_execution=1):
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([lamina.Input((FEATURES,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=["mae"],
                  steps_per_execution=steps_per_execution)
    return model


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


class Batches(lamina.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // BATCH)

    def __getitem__(self, i):
        return self.x[i * BATCH:(i + 1) * BATCH], self.y[i * BATCH:(i + 1) * BATCH]


def generator(x, y, epochs):
    for _ in range(epochs):
        for i in range(0, len(x), BATCH):
            yield x[i:i + BATCH], y[i:i + BATCH]


def loader(x, y):
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)


def train_all(directory):
    """Every check's results: runs the same in one process (the reference) or many."""
    x, y = data()
    out = {}
    model = make_model()
    batch_losses = []
    callbacks = [lamina.callbacks.ModelCheckpoint(os.path.join(directory, "best.keras")),
                 lamina.callbacks.CSVLogger(os.path.join(directory, "log.csv")),
                 lamina.callbacks.LambdaCallback(
                     on_train_batch_end=lambda batch, logs: batch_losses.append(logs["loss"]))]
    history = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=True, verbose=0,
                        validation_data=(x[:20], y[:20]), callbacks=callbacks)
    out["arrays"] = weights_of(model)
    out["history"] = history.history
    out["batch_losses"] = batch_losses
    out["evaluate"] = model.evaluate(x, y, batch_size=BATCH, verbose=0, return_dict=True)
    out["predict"] = model.predict(x, batch_size=BATCH, verbose=0)

    # Steps grouped by 2 (the last group holds rank 1's empty share) and sample weights.
    model = make_model(steps_per_execution=2)
    weights = np.linspace(0.5, 2.0, SAMPLES).astype("float32")
    history = model.fit(x, y, sample_weight=weights, batch_size=BATCH, epochs=2, verbose=0)
    out["grouped_weighted"] = weights_of(model)
    out["grouped_weighted_history"] = history.history

    model = make_model()
    model.fit(generator(x, y, 2), steps_per_epoch=4, epochs=2, verbose=0)
    out["generator"] = weights_of(model)

    model = make_model()
    model.fit(Batches(x, y), epochs=2, verbose=0)
    out["pydataset"] = weights_of(model)

    model = make_model()
    torch.manual_seed(3)
    history = model.fit(loader(x, y), epochs=2, verbose=0)
    out["dataloader"] = weights_of(model)
    out["dataloader_history"] = history.history

    # BatchNormalization(synchronized=True): statistics of the global batch (even shares).
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([lamina.Input((FEATURES,)), lamina.layers.Dense(8),
                               lamina.layers.BatchNormalization(synchronized=True),
                               lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    model.fit(x[:48], y[:48], batch_size=BATCH, epochs=2, verbose=0)
    out["sync_batchnorm"] = weights_of(model)

    # ModelParallel over a (1, n) mesh: one replica, every process reads the whole batch;
    # the kernels are split over "model" (FSDP2), the biases replicated.
    mesh = distribution.DeviceMesh((1, distribution.get_device_count()), ["batch", "model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*kernel"] = (None, "model")
    model_parallel = distribution.ModelParallel(layout_map=layout_map)
    model = make_model()
    with model_parallel.scope(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
        out["model_parallel_predict"] = model.predict(x, batch_size=BATCH, verbose=0)
    out["model_parallel"] = weights_of(model)
    out["model_parallel_history"] = history.history
    out["model_parallel_warnings"] = [str(w.message) for w in caught]

    # Sharded with Adam (its slots are sharded too), ModelCheckpoint saving the gathered
    # weights each epoch, and the weights' shapes as a callback sees them mid-epoch.
    model = make_model()
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    shapes = []

    class Shapes(lamina.callbacks.Callback):  # reads no batch logs: no per-step gather
        def on_train_batch_begin(self, batch, logs=None):
            shapes.append([tuple(w.shape) for w in model.trainable_weights])

    callbacks = [lamina.callbacks.ModelCheckpoint(os.path.join(directory, "sharded.keras")),
                 Shapes()]
    with model_parallel.scope():
        history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=callbacks)
    out["sharded_adam"] = weights_of(model)
    out["sharded_adam_history"] = history.history
    out["sharded_shapes"] = shapes
    out["sharded_optimizer"] = [v.numpy() for v in model.optimizer.variables]

    # Sharded and resumed from a backup (Adam's slots load whole, then are sharded), with
    # a callback reading batch logs (the full weights are gathered after every step).
    backup = os.path.join(directory, "sharded_backup")
    seen = set()
    for epochs in (2, 3):
        model = make_model()
        model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse")
        callbacks = [lamina.callbacks.BackupAndRestore(backup, delete_checkpoint=epochs == 3),
                     lamina.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs,
                                                     model=model: (
                         seen.add(tuple(model.trainable_weights[0].shape))))]
        with model_parallel.scope():
            history = model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0,
                                callbacks=callbacks)
    out["sharded_resumed"] = weights_of(model)
    out["sharded_resumed_history"] = history.history
    out["sharded_batch_end_shapes"] = seen

    # BackupAndRestore: an interrupted run resumes on every process.
    backup = os.path.join(directory, "backup")
    model = make_model()
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
              callbacks=[lamina.callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    model = make_model()
    resumed = model.fit(x, y, batch_size=BATCH, epochs=3, verbose=0,
                        callbacks=[lamina.callbacks.BackupAndRestore(backup)])
    out["resumed_epochs"] = len(resumed.history["loss"])
    out["resumed"] = weights_of(model)
    return out


def run(rank, world, directory, port, fail_rank=None):
    """One process of the job: joins it, trains with DataParallel, saves what it saw."""
    distribution.initialize(f"127.0.0.1:{port}", world, rank, initialization_timeout=60)
    distribution.set_distribution(distribution.DataParallel())
    if fail_rank is not None:
        model = make_model()
        x, y = data()

        class Fail(lamina.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if rank == fail_rank and epoch == 1:
                    raise RuntimeError(f"rank {rank} failed on purpose")

        model.fit(x, y, batch_size=BATCH, epochs=50, verbose=0, callbacks=[Fail()])
        return
    out = train_all(directory)
    out["devices"] = distribution.list_devices()
    torch.save(out, os.path.join(directory, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


RESUME_EPOCHS = 4


def failure_job(rank, world, directory, port, mode):
    """A DataParallel fit with BackupAndRestore where, by `mode`, process 1 is killed
    (SIGKILL at epoch 2's second batch: the epoch-1 backup is complete by then, since
    process 0 wrote it before joining the first step's all-reduce), hangs there (the other
    process's collective times out after 2 s), or nothing happens (a restart resumes)."""
    import signal
    import time

    distribution.initialize(f"127.0.0.1:{port}", world, rank,
                            initialization_timeout=2 if mode == "hang" else 60)
    distribution.set_distribution(distribution.DataParallel())
    x, y = data()
    model = make_model()

    class Stop(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if rank == 1 and self.epoch == 2 and batch == 1:
                if mode == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                if mode == "hang":
                    time.sleep(60)

    callbacks = [lamina.callbacks.BackupAndRestore(os.path.join(directory, "backup")), Stop()]
    history = model.fit(x, y, batch_size=BATCH, epochs=RESUME_EPOCHS, verbose=0,
                        callbacks=callbacks)
    torch.save({"weights": weights_of(model), "history": history.history},
               os.path.join(directory, f"resumed{rank}.pt"))
    torch.distributed.destroy_process_group()


def fit_adam(model_parallel=None, rows=35):
    """Adam `fit` on `rows` samples (35: batches of 16, 16, 3, the last split 2 + 1 over
    2 replicas), optionally under `model_parallel`: weights, history, and the weights'
    shapes a callback sees at each batch's start."""
    x, y = data()
    x, y = x[:rows], y[:rows]
    model = make_model()
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    shapes = []

    class Shapes(lamina.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            shapes.append([tuple(w.shape) for w in model.trainable_weights])

    scope = model_parallel.scope() if model_parallel is not None else contextlib.nullcontext()
    with scope:
        history = model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[Shapes()])
    return {"weights": weights_of(model), "history": history.history, "shapes": shapes}


def hsdp_job(rank, world, directory, port):
    """4 processes, a (2, 2) ["batch", "model"] mesh: 2 replicas, each sharding the kernels
    over 2 processes (FSDP's hybrid mode); the last batch is split unevenly."""
    distribution.initialize(f"127.0.0.1:{port}", world, rank, initialization_timeout=60)
    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*kernel"] = (None, "model")
    out = fit_adam(distribution.ModelParallel(layout_map=layout_map))
    torch.save(out, os.path.join(directory, f"hsdp{rank}.pt"))
    torch.distributed.destroy_process_group()
