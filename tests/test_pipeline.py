"""The whole pipeline on a small generated root in the real layout: vocabularies, training
on both languages (the backend in each run record), testing, CL, fusion, the table; and a second run
that redoes nothing."""
import json
import os

import pytest

from tests.helpers import PIPELINE_CONFIG as CONFIG, REPO, pipeline_run, run_pipeline
from w2vv import backend, layout
from w2vv.collection_files import imageset_of
from w2vv.ranking import read_metrics

pytestmark = pytest.mark.slow  # do_all.sh, both languages (the session's pipeline_root)

RUN = pipeline_run()  # the folders' name


def chance_ap(n):
    """Mean AP of a random ranking with one relevant item among n: E[1/rank] = H(n)/n."""
    return sum(1 / k for k in range(1, n + 1)) / n


def test_pipeline_trains_both_languages_above_chance(pipeline_root):
    root, _, result = pipeline_root
    assert result.returncode == 0, result.stderr[-3000:]
    for train, val in (("mscoco2014dev-train", "mscoco2014dev-val"), ("cococntrain", "cococnval")):
        folder = layout.checkpoint_dir(str(root), train, val, RUN)
        for name in ("model.json", "config.json", "train_loss_hist.txt", "val_per_hist.txt", "summary.json"):
            assert os.path.isfile(os.path.join(folder, name)), name
        with open(os.path.join(folder, layout.SETTINGS_FILE)) as f:
            assert json.load(f)["settings"]["backend"] == backend.version()
        best_epoch, best_ap = open(os.path.join(folder, "val_per_hist.txt")).readline().split()
        assert os.path.isfile(os.path.join(folder, f"{best_epoch}.h5"))
        assert len([f for f in os.listdir(folder) if f.endswith(".h5")]) == 1
        n_val = len(imageset_of(str(root), val))
        assert float(best_ap) > 2 * chance_ap(n_val), (train, best_ap, chance_ap(n_val))


def test_pipeline_writes_every_file_where_the_reference_does(pipeline_root):
    root, _, _ = pipeline_root
    r = str(root)
    for split in ("val", "test"):
        en = layout.similarity_dir(r, f"mscoco2014dev-{split}", "mscoco2014dev-train", RUN)
        assert os.path.isfile(os.path.join(en, "sent_feat.txt"))
        for run in (RUN, layout.cl_run_name(RUN), layout.fusion_run_name(RUN)):
            folder = layout.similarity_dir(r, f"cococn{split}", "cococntrain", run)
            for name in ("sent.id.score.txt", "mir.txt", "metrics.json"):
                assert os.path.isfile(os.path.join(folder, name)), (folder, name)


def test_table_and_cm_cl_clm_above_chance(pipeline_root):
    root, _, result = pipeline_root
    r = str(root)
    n = len(imageset_of(r, "cococntest"))
    lines = [line for line in result.stdout.splitlines() if line.startswith(RUN)]
    assert lines, result.stdout[-2000:]
    cl, cm, clm = (float(x) for x in lines[-1].split()[1:4])
    for figure in (cl, cm, clm):
        assert figure > 2 * chance_ap(n), lines[-1]
    val = {run: read_metrics(os.path.join(layout.similarity_dir(r, "cococnval", "cococntrain", run),
                                          "metrics.json"))["mir"]
           for run in (RUN, layout.cl_run_name(RUN), layout.fusion_run_name(RUN))}
    # the grid stops at w = 0.99 (as the reference's), so pure CL (w = 1) is not among the choices
    assert val[layout.fusion_run_name(RUN)] >= max(val[RUN], val[layout.cl_run_name(RUN)]) - 0.01
    assert os.path.isfile(os.path.join(r, "results", f"{RUN}.txt"))


def test_second_run_redoes_nothing_and_stage_5_prints_the_table_again(pipeline_root):
    root, ini, first = pipeline_root
    folder = layout.checkpoint_dir(str(root), "cococntrain", "cococnval", RUN)
    before = {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in os.listdir(folder)}
    again = run_pipeline(ini)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already trained, skipped" in again.stdout
    assert {f: os.stat(os.path.join(folder, f)).st_mtime_ns for f in os.listdir(folder)} == before
    table = [line for line in first.stdout.splitlines() if line.startswith(RUN)][-1]
    stage5 = run_pipeline(ini, "--stage", "5")
    assert stage5.returncode == 0 and table in stage5.stdout
    assert f"trained with these settings and inputs: {folder}" in stage5.stdout


def test_stages_after_training_refuse_models_of_other_settings(pipeline_root, tmp_path):
    """The config file edited after training (the run's name the same): --stage 5 printed the old table. A copy of
    the config under its name is refused before any stage; a run's input changed since, by stage 5's check."""
    root, ini, _ = pipeline_root
    config = tmp_path / f"{CONFIG}.py"
    config.write_text((REPO / "w2vv_configs" / f"{CONFIG}.py").read_text().replace("dropout = 0.2", "dropout = 0.5"))
    copied = run_pipeline(ini, "--stage", "5", config=str(config))
    assert copied.returncode == 1 and f"{config}: sets dropout = 0.5 where the config of its name" in copied.stderr, \
        copied.stdout[-2000:] + copied.stderr[-2000:]
    captions = root / "cococntrain" / "TextData" / "cococntrain.caption.txt"
    kept = captions.read_bytes()
    try:
        captions.write_bytes(kept + kept.splitlines(keepends=True)[0].replace(b"#", b"#9", 1))  # one more sentence
        done = run_pipeline(ini, "--stage", "5")
        assert done.returncode == 1 and "made with other settings: captions" in done.stderr, \
            done.stdout[-2000:] + done.stderr[-2000:]
    finally:
        captions.write_bytes(kept)
