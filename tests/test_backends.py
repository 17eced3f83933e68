"""Every Keras backend (w2vv/backend.py): KERAS_BACKEND checked in one line, the precision setting, the
backend in the run record, and a checkpoint that predicts the same vectors on the next backend installed
(this project's venvs: .venv for TensorFlow, .venv-jax, .venv-torch). Runs on the backend the suite
runs on (make test runs it on each)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO, run_main
from w2vv import backend, runs
from w2vv.config import load_config
from w2vv.errors import InputError

VENVS = {"tensorflow": REPO / ".venv", "jax": REPO / ".venv-jax", "torch": REPO / ".venv-torch"}
SMALL = {"lstm_size": "8", "n_layers": "0-16-16", "dropout": "0", "lr": "0.01"}


def run_trainer(*args, **env):
    return subprocess.run([sys.executable, str(REPO / "trainer.py"), *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env={**os.environ, **env})


def one_error_line(result):
    """The one ``error:`` line (TensorFlow's start-up notes may come before it), no traceback, exit 1."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return errors[0]


def test_an_unknown_backend_is_one_line():
    line = one_error_line(run_trainer("--help", KERAS_BACKEND="theano"))
    assert "KERAS_BACKEND=theano: unknown backend (expected one of tensorflow, jax, torch)" in line


def test_a_backend_whose_package_is_missing_is_one_line_saying_how_to_install_it():
    import importlib.util
    missing = [name for name, (package, _) in backend.BACKENDS.items() if importlib.util.find_spec(package) is None]
    if not missing:
        pytest.skip("every backend's package is installed in this Python")
    line = one_error_line(run_trainer("--help", KERAS_BACKEND=missing[0]))
    assert f"KERAS_BACKEND={missing[0]}: the package" in line and "is not installed" in line
    assert f"requirements-{missing[0]}.txt" in line or missing[0] == "tensorflow"


def test_do_all_refuses_an_unknown_backend_in_one_line(tmp_path):
    ini = tmp_path / "settings.ini"
    ini.write_text(f"rootpath = {tmp_path}\n")
    result = subprocess.run([str(REPO / "do_all.sh"), "--ini", str(ini), "base_w2vv"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "KERAS_BACKEND": "theano"})
    assert "KERAS_BACKEND=theano: unknown backend" in one_error_line(result)


def test_precision_is_a_setting_that_tags_the_run_name():
    assert runs.configured_run("w2vv_attention_ctl")[1] == "w2vv_attention_ctl"  # float32: the paper's
    cfg, name = runs.configured_run("w2vv_attention_ctl", {"precision": "mixed"})
    assert cfg.precision == "mixed" and name == "w2vv_attention_ctl_precisionmixed"
    with pytest.raises(InputError, match="precision 'half' unknown"):
        load_config("base_w2vv", overrides={"precision": "half"})


def test_tf32_and_mixed_need_a_gpu_in_one_line(tmp_path_factory):
    if backend.gpu_count():
        pytest.skip("a GPU is visible")
    from tests.helpers import make_small_root
    root = make_small_root(tmp_path_factory, "precision", vocabularies_of=("cococntrain",))
    for precision in ("tf32", "mixed"):
        result = run_main("trainer.py", "cococntrain", "cococnval", "cococntest", "--rootpath", root,
                          "--config", "w2vv_attention_ctl", "--max_epochs", "1",
                          "--config_overrides", f"lstm_size=8,n_layers=0-16-feat,precision={precision}")
        assert f"precision {precision}: needs a GPU" in one_error_line(result)
    assert not list(root.glob("cococntrain/cv_keras/*/*/*precision*/model.json"))


def test_the_run_record_names_its_backend_and_a_resume_on_another_stops():
    settings = runs.run_settings(load_config("base_w2vv"), runs.TrainingRun("root", "a", "b", seed=0), "zh")
    assert settings["backend"] == backend.version() and settings["backend"].split()[0] == backend.name()
    elsewhere = {**settings, "backend": "someother 1.0"}
    assert runs.differences(settings, elsewhere) == []  # a finished model is the same model on every backend
    assert runs.differences(settings, elsewhere, resuming=True) == [f"backend {backend.name()} (now someother)"]
    before = {k: v for k, v in settings.items() if k != "backend"}  # recorded before backends were: TensorFlow
    assert runs.differences(before, settings, resuming=True) == ([] if backend.name() == "tensorflow" else
                                                                 [f"backend tensorflow (now {backend.name()})"])


PREDICT = r"""
import sys
import numpy as np
from w2vv.inference import load_trained_model
model, _ = load_trained_model(sys.argv[1], sys.argv[1] + "/epoch_0.h5")
inputs = np.load(sys.argv[1] + "/inputs.npz")
np.save(sys.argv[2], model.predict_on_batch([inputs["seq"], inputs["aux"]]))
"""


def save_trained_checkpoint(folder, precision="float32"):
    """A small attention + ctl model, three training steps on this backend under ``precision`` (on a CPU
    too: the GPU check is the trainer's), saved as a checkpoint folder; returns its predictions for the
    inputs saved beside it."""
    import keras
    from w2vv import checkpoint
    from w2vv.model import build_model
    from w2vv.training import compile_for_training
    cfg = load_config("w2vv_attention_ctl", overrides={**SMALL, "precision": precision})
    keras.utils.set_random_seed(1)
    try:
        backend.use_precision(precision)
        model = build_model(cfg, 30, 20)
        compile_for_training(model, cfg)
    finally:
        backend.use_precision("float32")
    rng = np.random.default_rng(0)
    seq, aux = rng.integers(0, 31, size=(8, 32)), rng.random((8, 20)).astype("float32")
    y = np.concatenate([rng.random((8, 16)), np.repeat([[1], [0]], 4, axis=0)], axis=1).astype("float32")
    for _ in range(3):
        model.train_on_batch([seq, aux], y)
    os.makedirs(folder, exist_ok=True)
    checkpoint.save_model_config(folder, cfg, 30, 20)
    checkpoint.save_weights(model, os.path.join(folder, "epoch_0.h5"))
    with open(os.path.join(folder, "model.json"), "w") as f:  # written last, as the trainer does: training finished
        f.write(model.to_json())
    np.savez(os.path.join(folder, "inputs.npz"), seq=seq, aux=aux)
    return keras.ops.convert_to_numpy(model.predict_on_batch([seq, aux])).astype(np.float32)


def next_backend_installed():
    """The backend after this one in ``VENVS``'s order (tensorflow, jax, torch, then tensorflow again) whose
    venv exists; None where there is no other. make test runs this file on each backend, so each writes a
    checkpoint another reads and reads one another wrote: three interpreter starts where every pair
    would take six (8 to 12 s each on 2 cores)."""
    names = list(VENVS)
    here = names.index(backend.name())
    for name in names[here + 1:] + names[:here]:
        if (VENVS[name] / "bin" / "python").exists():
            return name
    return None


@pytest.mark.slow  # trains
def test_a_checkpoint_predicts_the_same_vectors_on_the_next_backend_installed(tmp_path):
    other = next_backend_installed()
    if other is None:
        pytest.skip("no other backend's venv (make venv-jax, make venv-torch)")
    folder = str(tmp_path / "checkpoint")
    here = save_trained_checkpoint(folder)
    out = tmp_path / f"{other}.npy"
    done = subprocess.run([str(VENVS[other] / "bin" / "python"), "-c", PREDICT, folder, str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "KERAS_BACKEND": other})
    assert done.returncode == 0, done.stderr[-3000:]
    assert np.abs(np.load(out) - here).max() <= 1e-5, other


def test_a_mixed_precision_checkpoint_loads_for_prediction_in_float32(tmp_path):
    import keras
    from w2vv.checkpoint import read_weights
    from w2vv.inference import load_trained_model
    folder = str(tmp_path / "mixed")
    save_trained_checkpoint(folder, precision="mixed")
    assert json.loads(open(folder + "/config.json").read())["precision"] == "mixed"
    assert all(a.dtype == np.float32 for arrays in read_weights(folder + "/epoch_0.h5").values() for a in arrays)
    model, _ = load_trained_model(folder, folder + "/epoch_0.h5")
    assert model.dtype_policy.name == "float32"
    inputs = np.load(folder + "/inputs.npz")
    out = keras.ops.convert_to_numpy(model.predict_on_batch([inputs["seq"], inputs["aux"]]))
    assert out.dtype == np.float32 and np.isfinite(out).all()


@pytest.mark.skipif(backend.name() != "torch", reason="tests/test_pipeline.py runs do_all.sh on this backend and "
                                                      "checks the backend recorded")
@pytest.mark.slow  # trains
def test_the_whole_pipeline_runs_on_this_backend_and_records_it(tmp_path_factory):
    """do_all.sh stages 1-5, one epoch of a small model, on PyTorch, where tests/test_pipeline.py (the
    learning, on TensorFlow and JAX) does not run: PyTorch runs eagerly and is too slow for it on a CPU."""
    from tests.helpers import make_small_root
    from w2vv import layout
    root = make_small_root(tmp_path_factory, "backend_pipeline")
    ini = root.parent / "backend.ini"
    ini.write_text(f"rootpath = {root}\nmax_epochs = 1\npython = {sys.executable}\n"
                   f"config_overrides = lstm_size=8,n_layers=0-32-feat,batch_size=20\n")
    done = subprocess.run(["bash", str(REPO / "do_all.sh"), "--ini", str(ini), "w2vv_attention_ctl"],
                          capture_output=True, text=True, cwd=REPO, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CLM" in done.stdout
    records = list(root.glob("*/cv_keras/*/w2vv_trainer.py/*/" + layout.SETTINGS_FILE))
    assert len(records) == 2  # the English and the Chinese model
    for record in records:
        assert json.loads(record.read_text())["settings"]["backend"] == backend.version()


def test_the_ini_precision_reaches_the_trainer_and_the_run_name(tmp_path):
    from w2vv import settings
    ini = tmp_path / "gpu.ini"
    ini.write_text(f"rootpath = {tmp_path}\nprecision = mixed\npython =\n")  # empty python: the backend's venv
    values = settings.read_settings(str(ini))
    overrides, name = settings.ini_run(values, "w2vv_attention_ctl")
    assert "precision=mixed" in overrides.split(",") and name == "w2vv_attention_ctl_precisionmixed"
    ini.write_text(f"rootpath = {tmp_path}\nprecision = half\n")
    with pytest.raises(InputError, match="precision = half"):
        settings.read_settings(str(ini))


@pytest.mark.slow  # trains
def test_a_run_interrupted_on_another_backend_stops_in_one_line_unless_overwritten(tmp_path_factory):
    from tests.helpers import make_small_root
    from w2vv import layout
    root = make_small_root(tmp_path_factory, "resume_backend", vocabularies_of=("cococntrain",))
    args = ("cococntrain", "cococnval", "cococntest", "--rootpath", str(root), "--config", "w2vv_attention_ctl",
            "--config_overrides", "lstm_size=8,n_layers=0-16-feat,batch_size=20", "--max_epochs", "1", "--seed", "0")
    assert run_main("trainer.py", *args).returncode == 0
    folder = next(root.glob("cococntrain/cv_keras/cococnval/w2vv_trainer.py/*"))
    # as if an epoch had ended on another backend and the run were killed there
    (folder / layout.MODEL_FILE).unlink()
    (folder / layout.RESUME_FILE).write_bytes(b"resume state of another backend")
    record = json.loads((folder / layout.SETTINGS_FILE).read_text())
    record["settings"]["backend"] = "someother 1.0"
    (folder / layout.SETTINGS_FILE).write_text(json.dumps(record))
    line = one_error_line(run_main("trainer.py", *args))
    assert f"made with other settings: backend someother (now {backend.name()})" in line and "--overwrite 1" in line
    assert run_main("trainer.py", *args, "--overwrite", "1").returncode == 0
    assert json.loads((folder / layout.SETTINGS_FILE).read_text())["settings"]["backend"] == backend.version()
    assert (folder / layout.MODEL_FILE).is_file() and not (folder / layout.RESUME_FILE).exists()
