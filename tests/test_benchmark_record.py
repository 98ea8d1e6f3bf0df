"""benchmarks/record.py's writers on made-up numbers: the table and chart come out right
(no benchmark runs here and nothing depends on a timing)."""

import importlib.util
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def record():
    spec = importlib.util.spec_from_file_location("record", ROOT / "benchmarks" / "record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_results():
    return {
        "mlp": {
            "torch": {"median": 0.5, "compile": 0.1, "peak_mb": 400.0, "fit_mb": 20.0},
            "lamina": {"median": 0.55, "compile": 0.2, "peak_mb": 420.0, "fit_mb": 21.0},
            "lamina jit": {"error": "run: RuntimeError: boom"},
        },
        "latency": {
            "torch": {"median": 0.02, "peak_mb": 300.0, "fit_mb": 4.0},
            "lamina": {"median": 0.01, "peak_mb": 330.0, "fit_mb": 2.0},
        },
    }


META = {"date": "2026-01-01 00:00 UTC", "command": "python benchmarks/record.py --quick",
        "machine": "test", "load_before": "0.0", "load_after": "0.0", "mode": "quick",
        "rounds": 3, "missing": "Keras 3 (JAX) (not installed)"}


def test_markdown_ratios_errors_and_memory(record, tmp_path):
    path = tmp_path / "latest.md"
    record.write_markdown(fake_results(), META, path)
    text = path.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| MLP")]
    # columns follow CANDIDATES' order: torch, lamina, lamina jit; then the torch time
    assert rows == ["| MLP 784-512-256-10 fit, batch 128, Adam | 1.00x | 1.10x | error "
                    "| 500.0 ms |"]
    assert "| single-sample `model(x)` MLP 784-512-256-10 x calls (no grad) | 1.00x | 0.50x " \
           "| — | 20.0 ms |" in text
    assert "| latency | 1.00x (1.00x) | 1.10x (0.50x) | — | 300 / 4 MB |" in text
    assert "| mlp | 0.10 | 0.20 | — |" in text
    assert "- mlp / lamina jit_compile=True: run: RuntimeError: boom" in text
    assert "Keras 3 (JAX) (not installed)" in text


def test_chart_is_a_png(record, tmp_path):
    path = tmp_path / "latest.png"
    record.write_chart(fake_results(), META, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 1000


def test_unknown_workload_is_named(record):
    with pytest.raises(SystemExit):
        record.main(["--workloads", "mlp,nope"])


def test_cpu_workers_hide_gpus_and_cuda_workers_put_lamina_on_cuda(record):
    cpu = record.worker_env("keras jax", "cpu", base={"PATH": "/bin"})
    assert cpu["CUDA_VISIBLE_DEVICES"] == "" and cpu["KERAS_BACKEND"] == "jax"
    assert cpu["LAMINA_DEVICE"] == "cpu" and cpu["PATH"] == "/bin"
    cuda = record.worker_env("lamina", "cuda", base={"CUDA_VISIBLE_DEVICES": "0"})
    assert cuda["LAMINA_DEVICE"] == "cuda" and cuda["CUDA_VISIBLE_DEVICES"] == "0"


def test_cuda_without_a_gpu_and_cpu_clock_on_cuda_are_refused(record, capsys):
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            record.main(["--device", "cuda", "--workloads", "tiny"])
        assert "--device cuda: torch sees no CUDA device" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        record.main(["--device", "cuda", "--clock", "process"])
    assert "--clock process counts CPU time only" in capsys.readouterr().err


def test_torch_runner_trains_on_the_device_it_is_given(record, monkeypatch):
    # the hand-written loop's epoch keeps its permutation and loss total on the data's
    # device (a CUDA run would fail on a CPU-side index otherwise)
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.setitem(record.WORKLOADS, "tiny", ("tiny", 64, 64))
    run = record.make_runner("tiny", "torch", quick=True, device="cpu")
    total = run()
    assert total.device.type == "cpu" and total.item() > 0


def test_cuda_memory_section_names_the_allocator(record, tmp_path):
    path = tmp_path / "latest.md"
    record.write_markdown(fake_results(), dict(META, device="cuda"), path)
    text = path.read_text()
    assert "torch.cuda.max_memory_allocated" in text and "peak RSS" not in text
