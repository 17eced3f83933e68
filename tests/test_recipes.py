"""The recipes of the docs run (#34): every command of a fenced ``sh`` block of README.md and docs/*.md
is either RUN here, on a small generated root with the recipe's placeholders substituted
(``World.copy``; ``[…]`` optional parts dropped, ``a|b`` alternatives read as ``a``) and the test's flags
added (``for_the_test``: tiny models, random CNN weights, a free port), or SKIPped with its reason
(``SKIP``: the network, a GPU, a run of minutes that another test makes). A command in neither list
fails (a new recipe must be classified), and so does a RUN command that fails: a documented command
can no longer break unseen, a former flag included.

The commands of one page run in its order on one root, but for what a page makes before it uses it
(``PHASES``: features and vocabularies, then training, then the rest), so that a page may show the
short path first and how to make its model below. A run name a page's recipe trains (as written:
the config's name tagged with its overrides) names the run the test trained with its own flags in
that page's later commands; ``MY_RUN`` is that run. The Python blocks run as well."""
import contextlib
import io
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, REPO, SMALL_MODEL, copy_root, drop_comment, make_small_root, quiet_env, run_main

DOCS = ["README.md"] + sorted(f"docs/{name}" for name in os.listdir(REPO / "docs") if name.endswith(".md"))
CONFIG = "w2vv_attention_ctl"
ZH = ("cococntrain", "cococnval", "cococntest")
EN = ("mscoco2014dev-train", "mscoco2014dev-val", "mscoco2014dev-test")
QUERY = "一只狗在草地上跑"

# ---- Reading the recipes -------------------------------------------------------------------------

FENCE = re.compile(r"^\s*```(\w*)\s*$")
HEADING = re.compile(r"^#{1,6} (.+)")


@dataclass(frozen=True)
class Recipe:
    """One command of a page's fenced block: continuation lines joined, its comment dropped."""
    doc: str
    heading: str    # the section it is in
    text: str

    def __str__(self):
        return f"{self.doc}: {self.text}"


def blocks(doc, lang="sh"):
    """(heading, body) of every fenced block of ``lang`` in ``doc``."""
    heading, body, kind = "", None, None
    for line in (REPO / doc).read_text(encoding="utf-8").splitlines():
        if body is None:
            fence = FENCE.match(line)
            if fence:
                body, kind = [], fence.group(1)
            elif HEADING.match(line):
                heading = HEADING.match(line).group(1).strip()
        elif line.strip().startswith("```"):
            if kind == lang:
                yield heading, "\n".join(body)
            body = None
        else:
            body.append(line)


def recipes(doc):
    for heading, body in blocks(doc):
        for line in re.sub(r"\\\n", " ", body).splitlines():
            text = re.sub(r"\s{2,}", " ", drop_comment(line)).strip()
            if text:
                yield Recipe(doc, heading, text)


def all_recipes():
    return [recipe for doc in DOCS for recipe in recipes(doc)]


def optional_parts_dropped(text):
    """A usage line as the command it shows at its simplest: ``[…]`` parts dropped (nested ones too),
    an ``a|b`` alternative read as its first."""
    while True:
        shorter = re.sub(r"(^|\s)\[[^\[\]]*\]", "", text)
        if shorter == text:
            break
        text = shorter
    return re.sub(r"(?<=\s)([^\s|'\"]+)(?:\|[^\s|'\"]+)+", r"\1", text).strip()


# ---- Which recipes run here, and why the others do not -------------------------------------------

# The project's scripts a recipe may run here (in this process, but serve.py, which runs as a server)
SCRIPTS = ("check_root.py", "build_vocab.py", "trainer.py", "tester.py", "cross_lingual.py", "fuse.py", "report.py",
           "report_page.py", "plot_training.py", "search.py", "serve.py", "extract_features.py",
           "convert_original.py")
PYTHON = r"(?:python3?|\.venv/bin/python)"   # this venv's Python
SCRIPT = "|".join(re.escape(s) for s in SCRIPTS)
RUN = [
    (rf"^{PYTHON} ({SCRIPT})(\s|$)", "a script of the project, in this process (serve.py: a server, asked once)"),
    (rf"^KERAS_BACKEND=(jax|torch) \.venv-\1/bin/python ({SCRIPT})(\s|$)",
     "a script on another backend's venv, in a subprocess (where that venv exists)"),
    (rf"^{PYTHON} -m w2vv\.settings(\s|$)", "a module of the project, in a subprocess"),
    (r"^curl\s", "asked of the serve.py its page started, with httpx"),
]
SKIP = [
    (r"^make demo(-ja|-family)?$", "minutes: the demo's venv, data and do_all.sh runs; test_pipeline.py runs "
                                   "do_all.sh on the demo data, test_japanese.py its Japanese collections, "
                                   "test_demo_family.py the family demo at a tiny size"),
    (r"^make test", "the test suite itself"),
    (r"jax\[cuda|tensorflow\[and-cuda\]", "a GPU build of a backend, from the network"),
    (r"pip install --no-index", "installs the wheels make gpu-wheels downloads, on a GPU machine"),
    (r"^make venv|(^|\s)-m venv\s|pip install", "installs packages from the network"),
    (r"^source \.venv/bin/activate$", "the shell's environment; this test runs the venv's Python itself"),
    (r"--stage 0(\s|$)", "downloads the release (about 6 GB); test_download.py runs stage 0 against a local "
                         "archive server"),
    (r"^KERAS_DISTRIBUTION_JOB_ADDRESSES=", "training over two hosts"),
    (r"^make bench-gpu TINY=1$", "minutes; test_bench_gpu.py runs bench_gpu at its tiny size"),
    (r"bench[._-]gpu.*(--fixtures|FIXTURES=)", "a GPU, at the paper's scale"),
    (r"^\./do_all\.sh \w+$", "the whole pipeline (hours on the real data); test_pipeline.py runs do_all.sh on a "
                             "generated root"),
    (rf"^{PYTHON} -m tools\.seed_root\s", "a seed's root beside a trained one; test_demo_family.py runs it on a copy "
                                         "of a small root"),
    (r"^sed .* common\.ini > seed\d\.ini$", "test_the_ini_of_a_seed_recipe runs it on a copy of common.ini"),
    (r"^\./do_all\.sh --ini seed\d\.ini \w+$", "a seed's whole pipeline (minutes); test_demo_family.py runs do_all.sh "
                                              "in a root per seed at a tiny size"),
    (rf"^{PYTHON} compare\.py\s", "needs three roots with two configs each through do_all.sh, one per seed (minutes); "
                                  "tests/test_compare.py runs compare.py on result folders it writes"),
    (r"^KERAS_BACKEND=(jax|torch) \./do_all\.sh \w+$", "the whole pipeline on another backend; test_backends.py "
                                                      "runs do_all.sh for an epoch on each backend's venv"),
]


def classify(recipe):
    """("skip", reason), ("run", how) or (None, None) for a recipe neither list names."""
    for pattern, reason in SKIP:
        if re.search(pattern, recipe.text):
            return "skip", reason
    for pattern, how in RUN:
        if re.search(pattern, recipe.text):
            return "run", how
    return None, None


# ---- Placeholders, and the test's own flags -----------------------------------------------------

ORIGINAL = "original"   # commands about the original code's checkpoints: run on a copy of its root (shared/fixtures)


def context(recipe):
    """The root a recipe runs on: the generated one, or ``ORIGINAL`` for one about the original's checkpoints."""
    if "original code" in recipe.heading.lower() or "ORIGINAL_FOLDER" in recipe.text:
        return ORIGINAL
    return ""


def groups():
    """{(doc, context): [recipes to run, in the page's order]}."""
    out = {}
    for recipe in all_recipes():
        if classify(recipe)[0] == "run":
            out.setdefault((recipe.doc, context(recipe)), []).append(recipe)
    return out


# What a page makes before it uses it: features and vocabularies, then models, then the rest
PHASES = {"extract_features.py": 0, "build_vocab.py": 0, "trainer.py": 1}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]+$")
RUN_FLAGS = ("--run", "--en_run")
# extract_features.py's default feature name with ImageNet weights, and with the test's (none)
FEATURE_OF_IMAGENET = re.compile(r"(\w+)_imagenet_(avgpool)")


def merged_overrides(recipe_overrides):
    """The recipe's ``--config_overrides`` with ``SMALL_MODEL``'s over them (an MLP ending at the features'
    dimension, ``…-feat``, still does)."""
    items = dict(item.split("=", 1) for item in recipe_overrides.split(",") if item)
    small = dict(item.split("=", 1) for item in SMALL_MODEL.split(","))
    if items.get("n_layers", "").endswith("-feat"):
        small["n_layers"] = small["n_layers"].rsplit("-", 1)[0] + "-feat"
    return ",".join(f"{k}={v}" for k, v in {**items, **small}.items())


def with_flag(args, flag, value):
    """``args`` with ``flag value``: its value replaced where it is given, else added."""
    if flag in args:
        i = args.index(flag)
        return [*args[:i + 1], value, *args[i + 2:]]
    return [*args, flag, value]


def value_of(args, flag, default=""):
    return args[args.index(flag) + 1] if flag in args else default


def for_the_test(script, args):
    """A script's arguments as this test runs them: tiny models for one epoch, random CNN weights (none can be
    downloaded here) on small images, and the feature names those weights give (``…_none_avgpool``)."""
    args = [FEATURE_OF_IMAGENET.sub(r"\1_none_\2", a) for a in args]
    if script in ("trainer.py", "check_root.py"):
        args = with_flag(args, "--config_overrides", merged_overrides(value_of(args, "--config_overrides")))
    if script == "trainer.py":
        for flag, value in (("--max_epochs", "1"), ("--batch_size", "16"), ("--seed", "0")):
            args = with_flag(args, flag, value)
    if script == "extract_features.py":
        args = with_flag(with_flag(args, "--weights", "none"), "--image_size", "32")
    return args


def trainer_run(args):
    """The run name ``trainer.py args`` trains (its checkpoint folder's name)."""
    import trainer
    from w2vv.config import parse_overrides
    from w2vv.runs import configured_run
    a = trainer.parse_args(args)
    overrides = parse_overrides(a.config_overrides)
    for key in ("batch_size", "max_epochs"):
        if getattr(a, key) is not None:
            overrides[key] = getattr(a, key)
    return configured_run(a.config, overrides, a.feature_collection, a.word2vec, a.config_dir)[1]


def demo_runs():
    """The runs ``make demo`` trains (demo.ini), by the names the docs give their folders: a recipe naming
    one gets the tiny run of this test instead."""
    from w2vv.settings import ini_run, read_settings
    settings = read_settings(str(REPO / "demo.ini"))
    return {ini_run(settings, config)[1] for config in (CONFIG, "base_w2vv")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(text, n=3000):
    return text[-n:]


class Server:
    """``serve.py args`` on a free port, until ``stop``; asked once for ``QUERY`` if no recipe asked it."""

    def __init__(self, args, log_path):
        self.port, self.log_path, self.asked = free_port(), log_path, False
        with open(log_path, "w") as log:
            self.process = subprocess.Popen([sys.executable, "serve.py", *args, "--port", str(self.port)], cwd=REPO,
                                            stdout=log, stderr=subprocess.STDOUT, env=quiet_env())
        import httpx
        deadline = time.time() + 180
        try:
            while True:
                assert self.process.poll() is None, f"serve.py exited {self.process.returncode}:\n{self.log()}"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(self.url("/api/health"), timeout=10).status_code == 200:
                        break
                assert time.time() < deadline, f"serve.py not ready in 180 s:\n{self.log()}"
                time.sleep(0.1)
        except AssertionError:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            raise

    def log(self):
        return tail(self.log_path.read_text(encoding="utf-8", errors="replace"))

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, url, **kwargs):
        import httpx
        url = re.sub(r"^http://(127\.0\.0\.1|localhost):8000(?=/|$)", f"http://127.0.0.1:{self.port}", url)
        answer = httpx.request(method, url, timeout=60, **kwargs)
        self.asked = True
        assert answer.status_code == 200, f"{method} {url}: {answer.status_code} {answer.text[:500]}\n{self.log()}"
        return answer.json()

    def stop(self):
        try:
            if not self.asked and self.process.poll() is None:   # the curl of docs/service.md
                record = self.request("GET", self.url("/api/search"), params={"q": QUERY, "k": 3})
                assert record["error"] is None and len(record["results"]) == 3, record
        finally:
            if self.process.poll() is None:
                self.process.terminate()
            self.process.wait(timeout=60)
        assert self.process.returncode == 0 and "stopped (SIGTERM)" in self.log(), self.log()


def curl_request(args):
    """(method, url, httpx keyword arguments) of a curl command line's arguments."""
    get, data, headers, url = False, [], {}, None
    words = iter(args)
    for word in words:
        if word == "-G":
            get = True
        elif word in ("-d", "--data", "--data-urlencode"):
            data.append(next(words))
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word.startswith("http"):
            url = word
        else:
            raise AssertionError(f"curl {word}: an option curl_request does not know")
    assert url, "curl without a URL"
    if get or not data:
        return "GET", url, dict(params=[tuple(d.split("=", 1)) for d in data], headers=headers)
    return "POST", url, dict(content="&".join(data).encode("utf-8"), headers=headers)


@dataclass
class World:
    """The generated root and what the recipes' placeholders stand for."""
    root: Path
    pictures: Path       # a few photos (JPEG)
    coco_images: Path    # pictures of every image of the root
    run: str             # the run name of the tiny models of ZH and EN in the root, trained as a recipe's
    #                      trainer.py command with the test's flags

    def copy(self, folder):
        """The places of the docs' placeholders on a copy of the root in ``folder`` (a page's own)."""
        from w2vv import layout
        root = copy_root(self.root, folder)
        zh, en = (layout.checkpoint_dir(root, train, val, self.run) for train, val, _ in (ZH, EN))
        return {"~/VisualSearch": root, "demo_root": root, "ROOT": root, "R": root,
                "~/Pictures": self.pictures, "IMAGE_DIR": self.pictures, "/data/coco/images": self.coco_images,
                "ZH_CHECKPOINT": zh, "ZH_CKPT": zh, "CKPT": zh, "EN_CHECKPOINT": en, "EN_CKPT": en,
                "NAME": "myphotos", "CONFIG": CONFIG}


class Page:
    """Runs the RUN commands of one group (``places``: what the placeholders stand for, the root among them;
    ``runs``: run names as the docs write them, and the runs trained here in their stead; ``folder``: the
    servers' logs)."""

    def __init__(self, folder, places, runs):
        self.folder, self.places, self.runs = Path(folder), places, dict(runs)
        self.servers, self.ran, self.done = [], [], set()

    def substituted(self, word, after=None):
        for name, value in self.places.items():
            if word == name or word.startswith(name + "/"):
                word = str(value) + word[len(name):]
                break
        if after in RUN_FLAGS and word in self.runs:
            return self.runs[word]
        head, sep, base = word.rpartition("/")
        if sep and base in self.runs:
            return f"{head}/{self.runs[base]}"
        return word

    def placeholders_left(self, words):
        return [part for word in words for part in word.split("/") if PLACEHOLDER.match(part)]

    def run(self, recipe):
        words = shlex.split(optional_parts_dropped(recipe.text))
        assert not {"&&", "||", ";", "|"} & set(words), f"{recipe}: one command a line, please"
        env = {}
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if words[0] == "curl":
            assert self.servers, f"{recipe}: no serve.py recipe before it on its page"
            method, url, kwargs = curl_request(words[1:])
            self.servers[-1].request(method, url, **kwargs)
            self.ran.append(recipe)
            return
        python, words = words[0], words[1:]
        if words[0] == "-m":
            target, args = words[:2], words[2:]
        else:
            target, args = words[:1], words[1:]
        script = target[-1]
        args = [self.substituted(word, after) for after, word in zip([None, *args], args)]
        written, args = args, for_the_test(script, args)
        if (python, *target, *args) in self.done:   # a page showing a step twice (a short path, then the whole one)
            self.ran.append(recipe)
            return
        left = self.placeholders_left(args)
        assert not left, f"{recipe}: placeholder {left[0]} stands for nothing here (add it to World.copy)"
        if script == "serve.py":
            self.servers.append(Server(args, self.folder / f"serve{len(self.servers)}.log"))
            self.ran.append(recipe)
            return
        if env or python.startswith(".venv-") or target[0] == "-m":
            interpreter = sys.executable if re.fullmatch(PYTHON, python) else str(REPO / python)
            if not os.path.isfile(interpreter):
                pytest.skip(f"{recipe}: {python} is not installed here")
            done = subprocess.run([interpreter, *target, *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=600, env={**quiet_env(), **env})
        else:
            done = run_main(script, *args)
        assert done.returncode == 0, (f"{recipe}\nran: {script} {shlex.join(args)}\nexit {done.returncode}\n"
                                      f"{tail(done.stdout)}\n{tail(done.stderr)}")
        self.done.add((python, *target, *args))
        if script == "trainer.py":   # the run as the page names it, and as trained here
            self.runs[trainer_run(written)] = self.runs["MY_RUN"] = trainer_run(args)
        self.ran.append(recipe)

    def run_all(self, page_recipes):
        try:
            for recipe in sorted(page_recipes, key=lambda r: PHASES.get(script_of(r), 2)):
                if script_of(recipe) == "serve.py":
                    self.stop_servers()
                self.run(recipe)
        finally:
            self.stop_servers()

    def stop_servers(self):
        while self.servers:
            self.servers.pop().stop()


def script_of(recipe):
    found = re.search(r"\b([\w-]+\.py)\b", recipe.text)
    return found.group(1) if found else None


# ---- The tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small generated root with the vocabularies, the tiny Chinese and English models every page
    searches with (trained as pipeline.md's trainer.py recipe with the test's flags), and folders of
    pictures: a few photos, and one of every image of the root (as MS-COCO's images)."""
    root = make_small_root(tmp_path_factory, "recipes", vocabularies_of=(ZH[0], EN[0]))
    pictures = shutil.copytree(root / ZH[2] / "ImageData", root.parent / "Pictures")
    coco_images = shutil.copytree(root / "mscoco2014dev" / "ImageData", root.parent / "coco_images")
    runs = set()
    for train, val, test in (ZH, EN):
        args = for_the_test("trainer.py", [train, val, test, "--rootpath", str(root), "--config", CONFIG])
        done = run_main("trainer.py", *args)
        assert done.returncode == 0, tail(done.stdout + done.stderr)
        runs.add(trainer_run(args))
    return World(root, Path(pictures), Path(coco_images), runs.pop())


GROUPS = groups()


def test_every_recipe_is_run_or_skipped_with_a_reason():
    found = all_recipes()
    unclassified = [str(r) for r in found if classify(r)[0] is None]
    assert not unclassified, ("commands of the docs neither run by this test (RUN) nor skipped with a reason "
                              "(SKIP):\n" + "\n".join(unclassified))
    ran = [r for r in found if classify(r)[0] == "run"]
    assert len(ran) >= 15 and {r.doc for r in ran} >= {"README.md", "docs/own-photos.md", "docs/pipeline.md",
                                                       "docs/search.md", "docs/service.md"}


def test_reading_the_recipes():
    assert drop_comment("python s.py \"a # b\" 'c#d'  # note") == "python s.py \"a # b\" 'c#d'  "
    assert optional_parts_dropped("python x.py A [--k 10] [--mode cm|cl|clm] [--overwrite [0|1]] --w imagenet|none") \
        == "python x.py A --w imagenet"
    assert optional_parts_dropped("pip install \"jax[cuda12]\"") == "pip install \"jax[cuda12]\""
    assert merged_overrides("img_feature=f,n_layers=0-2048-feat") == "img_feature=f,n_layers=0-16-feat,lstm_size=8"
    assert merged_overrides("") == SMALL_MODEL
    assert curl_request(["-G", "http://h/api", "--data-urlencode", "q=a b", "-d", "k=3"]) == \
        ("GET", "http://h/api", dict(params=[("q", "a b"), ("k", "3")], headers={}))
    assert classify(Recipe("d", "", "python tester.py a b --rootpath R"))[0] == "run"
    assert classify(Recipe("d", "", "./do_all.sh --stage 0 base_w2vv"))[0] == "skip"
    assert classify(Recipe("d", "", "python download_data.py --rootpath R"))[0] is None


# The tests below train two tiny models (once, ``world``), extract features and start serve.py
@pytest.mark.slow
@pytest.mark.parametrize("doc, where", sorted(GROUPS), ids=[f"{d}{'-' + c if c else ''}" for d, c in sorted(GROUPS)])
def test_the_recipes_of_a_page_run(doc, where, world, tmp_path):
    """The RUN commands of a page, on a copy of the root, each ending with exit status 0 (serve.py: ready,
    answering its searches, stopped by SIGTERM)."""
    if where == ORIGINAL:
        if not FIXTURES.is_dir():
            pytest.skip("the original's fixtures are absent")
        root = Path(shutil.copytree(FIXTURES / "original_w2vv" / "VisualSearch", tmp_path / "VisualSearch",
                                    ignore=shutil.ignore_patterns("SimilarityIndex")))
        from w2vv import layout
        places = {"R": root, "ROOT": root, "~/VisualSearch": root,
                  "ORIGINAL_FOLDER": layout.checkpoint_dir(root, *ZH[:2], "tiny_attention_ctl"),
                  "NEW_FOLDER": tmp_path / "converted"}
        runs = {CONFIG: "tiny_attention_ctl"}   # the original's config of the paper's structure, GRU 32
    else:
        places, runs = world.copy(tmp_path), {name: world.run for name in demo_runs()}
    page = Page(tmp_path, places, runs)
    page.run_all(GROUPS[doc, where])
    assert len(page.ran) == len(GROUPS[doc, where])


@pytest.mark.slow
def test_a_former_flag_fails_its_recipe(world, tmp_path):
    """``--model_config`` and ``--zh_*`` were retired: a recipe still using one fails here."""
    page = Page(tmp_path, world.copy(tmp_path), {})
    for text in ("python trainer.py cococntrain cococnval cococntest --rootpath R --model_config w2vv_attention_ctl",
                 "python cross_lingual.py --rootpath R --run RUN --zh_test cococntest",
                 "python cross_lingual.py --rootpath R --config RUN"):
        with pytest.raises(AssertionError, match=r"exit 1\n(.|\n)*error: --\w+ is now --\w+ "):
            page.run(Recipe("doc", "", text.replace("RUN", world.run)))


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in DOCS if any(blocks(d, "python"))])
def test_the_python_recipes_run(doc, world, tmp_path):
    """A Python block runs with ``ZH_CHECKPOINT``/``EN_CHECKPOINT`` the tiny checkpoints, ``demo_root``
    the root and the demo's runs the tiny ones."""
    places = world.copy(tmp_path)
    names = dict(ZH_CHECKPOINT=places["ZH_CHECKPOINT"], EN_CHECKPOINT=places["EN_CHECKPOINT"])
    for _, code in blocks(doc, "python"):
        code = code.replace("demo_root/", f"{places['demo_root']}/")
        for run in demo_runs():
            code = code.replace(run, world.run)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{doc} (python block)", "exec"), dict(names))
        assert len(out.getvalue().splitlines()) >= 3, f"{doc}:\n{code}\nprinted:\n{out.getvalue()}"


def test_the_ini_of_a_seed_recipe():
    """The compare.py recipe's ini of a seed's root: common.ini with that root and seed."""
    from w2vv.settings import read_settings
    line = next(r.text for r in all_recipes() if re.match(r"^sed .* common\.ini > seed1\.ini$", r.text))
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(REPO / "common.ini", folder)
        subprocess.run(["bash", "-c", line], cwd=folder, check=True)
        settings = read_settings(os.path.join(folder, "seed1.ini"))
    assert (settings["rootpath"], settings["seed"]) == ("R_seed1", "1")
