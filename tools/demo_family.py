#!/usr/bin/env python3
"""The W2VV family on the demo data, with seeds (``make demo-family``; docs/demo.md#the-family-demo-make-demo-family):
each config through ``do_all.sh`` (stages 1-5: English model, Chinese model, CL, CLM) in one root per seed,
then ``compare.py``'s table of CL, CM and CLM as mean ± sd over the seeds, and its picture.

    python -m tools.demo_family [--ini demo-family.ini] [--seeds 0 1 2] [--configs C …] [--jobs 2]

The ini (``demo-family.ini``) names the first root (``rootpath``, which must hold the demo data:
``python -m tools.make_demo_data``) and the settings of every run; a config's own overrides are its
``config_overrides_<config>`` (w2vv/settings.py). Seed s runs in ``<rootpath>`` when s is the ini's
``seed``, else in ``<rootpath>_seed<s>``: a copy of the first root with hard links (``cp -al``: no disk;
every file of the project is replaced, never rewritten in place), made once, without the folders runs
derive there (models, results, locks, logs). Each root gets its own ini, ``<root>/demo-family.ini``
(the given one with that root and seed), and each run's log, ``<root>/logs/<config>.log``; ``--jobs``
runs that many pipelines at once (another root each where it can). A run done already is skipped by
do_all.sh, so a second call prints the table in seconds. Demo data says nothing about the real data:
the table shows that the four models train and test end to end, not how they compare on COCO-CN."""
import math
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from w2vv import cli, layout
from w2vv.atomic import write_text
from w2vv.comparison import MIN_DRAWS
from w2vv.cli import log
from w2vv.collection_files import imageset_of
from w2vv.errors import InputError
from w2vv.settings import ini_run, read_settings
from tools.make_demo_data import MARKER
from tools.seed_root import FAMILY_INI as SEED_INI, copy_root

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = ("base_w2vv", "w2vv_attention_ctl", "w2vvpp_resnext101", "sea_bow_w2v_gru")
PAIRED = ("w2vvpp_resnext101", "w2vv_attention_ctl")  # the paired difference the table ends with
LOGS = "logs"
WARNING = ("demo data says nothing about the real data: these figures show that the models train and test end "
           "to end on a small generated root, not how they compare on COCO-CN")


def parse_args(argv):
    p = cli.parser(__doc__, raw=True)
    p.add_argument("--ini", default=os.path.join(REPO, "demo-family.ini"), help="the settings (default %(default)s)")
    p.add_argument("--seeds", nargs="+", type=cli.seed, default=[0, 1, 2], help="one root each (default %(default)s)")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), help="default: %(default)s")
    p.add_argument("--jobs", type=int, default=2, help="pipelines at once (default %(default)s)")
    p.add_argument("--draws", type=int, default=10000, help="compare.py's bootstrap draws (default %(default)s)")
    args = cli.parse_args(p, argv)
    cli.refuse_repeats(p, "--seeds", args.seeds)
    cli.refuse_repeats(p, "--configs", args.configs)
    if args.jobs < 1:
        p.error(f"--jobs {args.jobs}: at least 1")
    if args.draws < MIN_DRAWS:
        p.error(f"--draws {args.draws}: a 95% bootstrap interval needs at least {MIN_DRAWS} draws")
    return args


def seed_roots(ini, seeds, configs):
    """(the ini's root, {seed: its root}): the ini's rootpath (relative to the current folder, as do_all.sh reads
    it) for the ini's own seed, ``<rootpath>_seed<s>`` for the others; InputError when a config would not run."""
    settings = read_settings(ini)
    base = os.path.abspath(settings["rootpath"])
    if not os.path.isfile(layout.caption_file(base, settings["query_train"])):
        raise InputError(f"{base}: no demo data (python -m tools.make_demo_data {settings['rootpath']} first)")
    for config in configs:  # a config misspelt, or an override it refuses: before the roots are copied
        ini_run(settings, config, ini)
    own = int(settings["seed"] or 0)
    return base, {seed: base if seed == own else f"{base}_seed{seed}" for seed in seeds}


def prepare_seed_root(base, root, seed):
    """``root``, the root of ``seed``: a copy of ``base`` with hard links (``copy_root``), made again (its models and
    results with it, of other data) when ``base`` was generated again since: compare.py refused it, and no run fixed
    it."""
    if root == base:
        return
    if os.path.isdir(root) and not _same_generation(base, root):
        log(f"seed {seed}: {root} holds other data than {base} (generated again since): copied again, without its "
            f"models and results")
        shutil.rmtree(root)
    if not os.path.isdir(root):
        log(f"seed {seed}: {root}, a copy of {base} with hard links")
        copy_root(base, root)


def _same_generation(base, root):
    """Whether ``root`` was copied from ``base`` as generated now: make_demo_data's marker, written last each time it
    generates the data, is the same file in both (a hard link), unless ``base`` has none to tell."""
    marker, copied = os.path.join(base, MARKER), os.path.join(root, MARKER)
    return not os.path.isfile(marker) or (os.path.isfile(copied) and os.path.samefile(marker, copied))


def seed_ini(template, root, seed):
    """``<root>/demo-family.ini``: the ``template`` ini's lines with ``rootpath`` and ``seed`` set."""
    with open(template, encoding="utf-8") as f:
        text = f.read()
    for key, value in (("rootpath", root), ("seed", str(seed))):
        line = re.compile(rf"^[ \t]*{key}[ \t]*=.*$", re.M)
        text = line.sub(f"{key} = {value}", text) if line.search(text) else text + f"\n{key} = {value}\n"
    path = os.path.join(root, SEED_INI)
    write_text(path, f"# written by tools/demo_family.py from {template}, for seed {seed}\n{text}")
    return path


def run_one(ini, root, config):
    """``do_all.sh --ini ini config``, its output into ``<root>/logs/<config>.log``; (exit status, seconds, log)."""
    os.makedirs(os.path.join(root, LOGS), exist_ok=True)
    path = os.path.join(root, LOGS, f"{config}.log")
    started = time.monotonic()
    with open(path, "w", encoding="utf-8") as out:
        done = subprocess.run(["bash", os.path.join(REPO, "do_all.sh"), "--ini", ini, config], cwd=REPO,
                              stdout=out, stderr=subprocess.STDOUT)
    return done.returncode, time.monotonic() - started, path


def run_all(units, jobs):
    """Run every (seed, root, ini, config) of ``units``, ``jobs`` at once, in their order but that a pipeline
    waiting for its turn takes another root than those running where it can; stop at the first that fails."""
    pending, running = list(units), {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            while pending and len(running) < jobs:
                busy = {unit[1] for unit in running.values()}
                unit = next((u for u in pending if u[1] not in busy), pending[0])
                pending.remove(unit)
                running[pool.submit(run_one, unit[2], unit[1], unit[3])] = unit
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                seed, _, _, config = running.pop(future)
                status, seconds, path = future.result()
                if status:
                    with open(path, encoding="utf-8") as f:
                        tail = f.read()[-3000:]
                    raise InputError(f"{path}: do_all.sh {config} (seed {seed}) failed (exit {status}); its end:\n"
                                     f"{tail}")
                log(f"seed {seed}, {config}: done in {seconds / 60:.1f} min ({path})")


def compare(ini, roots, configs, draws, out):
    settings = read_settings(ini)
    names = {config: ini_run(settings, config, ini)[1] for config in configs}
    command = [sys.executable, os.path.join(REPO, "compare.py"), "--rootpath", *roots, "--run", *names.values(),
               "--draws", str(draws), "--out", out, "--plot", os.path.splitext(out)[0] + ".png",
               "--languages", settings["languages"]]  # the collections of the ini's runs, not the paper's
    for role in ("query_train", "query_val", "query_test", "en_train", "en_val"):
        command += [f"--{role}", settings[role]]
    paired = set(PAIRED) <= set(configs)
    command += ["--paired", *(names[c] for c in PAIRED)] if paired else []
    test, n = settings["query_test"], len(imageset_of(roots[0], settings["query_test"]))
    header = (f"== the W2VV family on the demo data ({test}, {n} images; chance mIR ≈ {math.log(n) / n:.2f}), "
              f"{len(roots)} seeds ==\n   Warning: {WARNING}.\n" +
              ("" if paired else f"   (no paired difference: it is of {' and '.join(PAIRED)}, not both among the "
                                 f"configs)\n") + "\n")
    print("\n" + header, end="", flush=True)
    if subprocess.run(command, cwd=REPO).returncode:
        raise InputError("compare.py failed (see above)")
    with open(out, encoding="utf-8") as f:
        write_text(out, header + f.read())  # the file people pass around carries the warning too
    print(f"\n(also in {out})")


def main(argv):
    args = parse_args(argv)
    started = time.monotonic()
    base, roots = seed_roots(args.ini, args.seeds, args.configs)
    inis = {}
    for seed, root in roots.items():
        prepare_seed_root(base, root, seed)
        inis[seed] = seed_ini(args.ini, root, seed)
    units = [(seed, roots[seed], inis[seed], config) for config in args.configs for seed in args.seeds]
    log(f"{len(args.configs)} configs × {len(args.seeds)} seeds through do_all.sh, {args.jobs} at once "
        f"(logs: <root>/{LOGS}/<config>.log)")
    run_all(units, args.jobs)
    compare(args.ini, list(roots.values()), args.configs, args.draws, os.path.join(base, "results", "demo-family.txt"))
    log(f"make demo-family: {len(units)} pipelines in {(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(cli.run(main))
