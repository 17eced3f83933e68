"""bench/bench_gpu.py at its tiny size on this machine (no GPU needed): each kind of variant prints
its figures as ``name: value unit``, the replay tells the faithful settings from mixed precision, and
bad input stops it in one line before anything is generated."""
import os
import subprocess
import sys

import pytest

from bench.bench_gpu import BY_NAME, EPOCH_SENTENCES
from tests.helpers import REPO, STEP_FIXTURES

# one variant of each setting's every value (XLA auto/on, float32/tf32/mixed, two GPUs): each costs a fresh
# process and a compile, and the others only combine these (on a CPU, XLA 'auto' is XLA off)
VARIANTS = tuple(BY_NAME[name] for name in ("trainer", "xla_tf32", "mixed", "mirrored"))

PER_VARIANT = ("sent_per_s", "epoch_min", "input_wait_fraction", "step_ms", "input_batch_ms", "gpu_peak_mb",
               "xla", "matmul")


def run_bench(*args, **env):
    return subprocess.run([sys.executable, "-m", "bench.bench_gpu", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env})


def figures(stdout):
    """``name: value unit`` lines (``#`` lines are notes): {name: value}, numbers as float."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("#") or ": " not in line:
            continue
        name, rest = line.split(": ", 1)
        value = rest.split()[0] if rest.split() else ""
        try:
            out[name] = float(value.replace(",", ""))
        except ValueError:
            out[name] = value
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One tiny run of ``VARIANTS``, with the replay of the original's steps kept in the repository
    (``tests/fixtures/original_train_steps/``); no GPU used."""
    out = tmp_path_factory.mktemp("bench_gpu")
    # --fixtures takes the folder that holds original_train_steps/
    replay = ["--fixtures", str(STEP_FIXTURES)] if (STEP_FIXTURES / "original_train_steps").is_dir() else []
    # one batch of each timing: enough to check the machinery, and each costs a step or a fit
    result = run_bench("--size", "tiny", "--variants", ",".join(v.name for v in VARIANTS), "--out", str(out),
                       "--batches", "1", "--warmup_batches", "1", "--step_batches", "1", *replay,
                       CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 0, result.stderr[-3000:]
    return figures(result.stdout), out, bool(replay)


@pytest.mark.slow
def test_each_kind_of_variant_prints_its_figures(tiny):
    found, _, _ = tiny
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    assert found["keras_backend"] == backend and found["gpu_count"] == 0
    for variant in VARIANTS:
        if variant.distribute == "mirrored" or (variant.jit_compile is False and backend == "jax") or \
                (variant.jit_compile is True and backend == "torch"):
            assert found[variant.name] == "skipped"  # no 2 GPUs; what the backend cannot do
            continue
        for suffix in PER_VARIANT:
            assert f"{variant.name}_{suffix}" in found, (variant.name, suffix)
        rate = found[f"{variant.name}_sent_per_s"]
        assert rate > 0
        # the rate is printed without decimals: on a slow machine its rounding alone moves the epoch time
        assert found[f"{variant.name}_epoch_min"] == pytest.approx(EPOCH_SENTENCES / rate / 60, rel=0.01 + 0.5 / rate)
        assert 0 <= found[f"{variant.name}_input_wait_fraction"] <= 1
        assert found[f"{variant.name}_gpu_peak_mb"] == "n/a"
    if backend == "tensorflow":
        assert found["trainer_matmul"] == "off" and found["xla_tf32_matmul"] == "on"
        assert found["xla_tf32_xla"] == "yes"
        assert found["trainer_xla"] == "no"  # Keras's jit_compile='auto' turns XLA off without a GPU


@pytest.mark.slow
def test_the_replay_chooses_the_faithful_default(tiny):
    found, _, replayed = tiny
    if not replayed:
        assert found["faithful_default"] == "not_chosen"
        pytest.skip("the fixtures are absent: the replay did not run")
    for variant in VARIANTS:
        if variant.replayable():
            assert found[f"{variant.name}_replay_within_1e-5"] in ("yes", "no")
    assert found["trainer_replay_within_1e-5"] == "yes"
    assert found["mixed_replay_within_1e-5"] == "no"  # float16 cannot land within 1e-5
    assert found["mixed_replay_attention_ctl_weight_gap"] > 1e-4
    default = found["faithful_default"]
    passed = [v.name for v in VARIANTS if v.candidate and found.get(f"{v.name}_replay_within_1e-5") == "yes"]
    assert default in passed
    assert found[f"{default}_sent_per_s"] == max(found[f"{name}_sent_per_s"] for name in passed)


@pytest.mark.slow
def test_the_generated_data_is_deleted(tiny):
    _, out, _ = tiny
    assert not (out / "VisualSearch").exists()


@pytest.mark.parametrize("args, env, message", [
    (["--fixtures", "/nonexistent/fixtures"], {}, "/nonexistent/fixtures: no original_train_steps/trajectory.json"),
    (["--size", "tiny"], {"KERAS_BACKEND": "theano"}, "KERAS_BACKEND=theano: unknown backend"),
    (["--size", "full"], {"CUDA_VISIBLE_DEVICES": ""},
     f"no GPU visible to {os.environ.get('KERAS_BACKEND', 'tensorflow')} (--size full needs one"),
])
def test_bad_input_is_one_line_and_generates_nothing(tmp_path, args, env, message):
    out = tmp_path / "out"
    out.mkdir()
    result = run_bench(*args, "--out", str(out), **env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert list(out.iterdir()) == []
