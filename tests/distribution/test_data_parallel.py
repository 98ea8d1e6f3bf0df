"""DataParallel `fit`/`evaluate`/`predict` in 2 processes match 1 process.

One 2-process job (gloo on CPU, NCCL when CUDA is there) runs every check of
`dp_worker.train_all`; the same function in this process is the reference: same global
batch, same data order, so the final weights agree to float rounding.
"""

import os
import socket

import dp_worker
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import lamina
import lamina.models  # noqa: F401  (imported before forking, so children need not)

WORLD = 2


def _start(*args, function=dp_worker.run, world=WORLD):
    """Run `function` (`dp_worker.run`) in `world` processes; fork (cheap: lamina is
    imported already) unless CUDA is initialized here, which a forked child cannot use."""
    method = "spawn" if torch.cuda.is_initialized() else "fork"
    mp.start_processes(function, args=(world, *args), nprocs=world, start_method=method)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("data_parallel"))
    _start(directory, _free_port())
    results = [torch.load(os.path.join(directory, f"rank{r}.pt"), weights_only=False)
               for r in range(WORLD)]
    return directory, results


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return dp_worker.train_all(str(tmp_path_factory.mktemp("one_process")))


def _assert_weights_close(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("source", ["arrays", "generator", "pydataset", "dataloader",
                                    "resumed", "sync_batchnorm", "model_parallel", "sharded_adam",
                                    "grouped_weighted"])
def test_data_parallel_fit_matches_one_process(job, reference, source):
    _, results = job
    for rank_result in results:
        _assert_weights_close(rank_result[source], reference[source])


def test_data_parallel_metrics_are_global(job, reference):
    _, results = job
    for rank_result in results:
        for key, values in reference["history"].items():
            np.testing.assert_allclose(rank_result["history"][key], values, rtol=1e-5)
        for key, value in reference["evaluate"].items():
            np.testing.assert_allclose(rank_result["evaluate"][key], value, rtol=1e-5)
        np.testing.assert_allclose(rank_result["batch_losses"], reference["batch_losses"],
                                   rtol=1e-5)
        for key, values in reference["grouped_weighted_history"].items():
            np.testing.assert_allclose(rank_result["grouped_weighted_history"][key], values,
                                       rtol=1e-5)
        np.testing.assert_allclose(rank_result["dataloader_history"]["loss"],
                                   reference["dataloader_history"]["loss"], rtol=1e-5)


def test_model_parallel_fit_shards_the_mapped_variables_and_matches_one_process(job,
                                                                               reference):
    _, results = job
    assert reference["model_parallel_warnings"] == []
    full = [(dp_worker.FEATURES, 8), (8,), (8, 2), (2,)]
    assert reference["sharded_shapes"][1] == full
    for rank_result in results:
        assert rank_result["model_parallel_warnings"] == []
        np.testing.assert_allclose(rank_result["model_parallel_history"]["loss"],
                                   reference["model_parallel_history"]["loss"], rtol=1e-5)
        np.testing.assert_allclose(rank_result["model_parallel_predict"],
                                   reference["model_parallel_predict"], rtol=1e-5, atol=1e-6)
        # Mid-epoch each process holds half of every kernel (split along "model"), the
        # biases whole; at an epoch's start (after the epoch-end gather) all is whole.
        assert rank_result["sharded_shapes"][1] == [(dp_worker.FEATURES, 4), (8,), (8, 1),
                                                    (2,)]
        assert rank_result["sharded_shapes"][4] == full
        _assert_weights_close(rank_result["sharded_adam"], reference["sharded_adam"])
        for key, values in reference["sharded_adam_history"].items():
            np.testing.assert_allclose(rank_result["sharded_adam_history"][key], values,
                                       rtol=1e-5)
        # Adam's slots come back whole (gathered) after fit.
        _assert_weights_close(rank_result["sharded_optimizer"],
                              reference["sharded_optimizer"])
        # Resumed from a backup written from the gathered weights and slots.
        assert len(rank_result["sharded_resumed_history"]["loss"]) == 1
        np.testing.assert_allclose(rank_result["sharded_resumed_history"]["loss"],
                                   reference["sharded_resumed_history"]["loss"], rtol=1e-5)
        _assert_weights_close(rank_result["sharded_resumed"], reference["sharded_resumed"])
        assert rank_result["sharded_batch_end_shapes"] == {(dp_worker.FEATURES, 8)}


def test_model_parallel_checkpoint_is_an_ordinary_keras_file(job, reference):
    directory, _ = job
    path = os.path.join(directory, "sharded.keras")
    model = lamina.saving.load_model(path)
    _assert_weights_close(model.get_weights(), reference["sharded_adam"])
    import keras

    keras_model = keras.saving.load_model(path)
    _assert_weights_close([np.asarray(w) for w in keras_model.get_weights()],
                          reference["sharded_adam"])
    x, _ = dp_worker.data()
    np.testing.assert_allclose(np.asarray(keras_model.predict(x, verbose=0)),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_data_parallel_predict_returns_every_row_in_order(job, reference):
    _, results = job
    for rank_result in results:
        assert rank_result["predict"].shape == (dp_worker.SAMPLES, 2)
        np.testing.assert_allclose(rank_result["predict"], reference["predict"], rtol=1e-5,
                                   atol=1e-6)


def test_data_parallel_writes_one_loadable_checkpoint(job, reference):
    directory, results = job
    # The resumed fit deleted the backup at its end (process 0 only).
    assert sorted(os.listdir(directory)) == ["best.keras", "log.csv", "rank0.pt", "rank1.pt",
                                             "sharded.keras"]
    model = lamina.saving.load_model(os.path.join(directory, "best.keras"))
    _assert_weights_close(model.get_weights(), reference["arrays"])
    with open(os.path.join(directory, "log.csv")) as f:
        assert len(f.read().splitlines()) == 1 + 3  # header and one row per epoch


def test_data_parallel_resumes_every_process_from_backup(job, reference):
    _, results = job
    assert [r["resumed_epochs"] for r in results] == [reference["resumed_epochs"]] * WORLD
    assert results[0]["devices"] == [f"{results[0]['devices'][0][:3]}:{i}"
                                     for i in range(WORLD)]


def test_a_failing_process_fails_the_job_with_its_error(tmp_path):
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 failed on purpose"):
        _start(str(tmp_path), _free_port(), 1)


def test_a_killed_process_ends_the_job_and_a_restart_resumes_from_backup(tmp_path):
    directory = str(tmp_path)
    with pytest.raises(mp.ProcessExitedException, match="process 1 terminated with signal"):
        _start(directory, _free_port(), "kill", function=dp_worker.failure_job)
    assert os.listdir(directory) == ["backup"]
    _start(directory, _free_port(), "resume", function=dp_worker.failure_job)
    # The uninterrupted run, in this process.
    x, y = dp_worker.data()
    model = dp_worker.make_model()
    history = model.fit(x, y, batch_size=dp_worker.BATCH, epochs=dp_worker.RESUME_EPOCHS,
                        verbose=0)
    for rank in range(WORLD):
        result = torch.load(os.path.join(directory, f"resumed{rank}.pt"), weights_only=False)
        _assert_weights_close(result["weights"], model.get_weights())
        # Epochs 0 and 1 came from the backup; the restart ran epochs 2 and 3.
        np.testing.assert_allclose(result["history"]["loss"], history.history["loss"][2:],
                                   rtol=1e-5)
    assert not os.path.exists(os.path.join(directory, "backup"))  # deleted at the end


def test_a_hung_process_fails_the_others_collective_within_the_timeout(tmp_path):
    with pytest.raises(mp.ProcessRaisedException, match="(?i)timed? ?out"):
        _start(str(tmp_path), _free_port(), "hang", function=dp_worker.failure_job)


def test_model_parallel_on_a_2x2_mesh_shards_within_replicas_and_matches_one_process(
        tmp_path):
    _start(str(tmp_path), _free_port(), function=dp_worker.hsdp_job, world=4)
    reference = dp_worker.fit_adam()
    for rank in range(4):
        result = torch.load(tmp_path / f"hsdp{rank}.pt", weights_only=False)
        assert result["shapes"][1] == [(dp_worker.FEATURES, 4), (8,), (8, 1), (2,)]
        _assert_weights_close(result["weights"], reference["weights"])
        for key, values in reference["history"].items():
            np.testing.assert_allclose(result["history"][key], values, rtol=1e-5)
