#!/usr/bin/env python3
"""Speed and memory of the pipeline at the paper's scale.

    python -m bench.bench_pipeline            # quick shapes (a few minutes on 2 cores)
    python -m bench.bench_pipeline --full     # the paper's shapes (121,286 images, 606,757 sentences)

Generates a VisualSearch root in the real layout (caption file, ImageSets, a 2048-d feature
BigFile, a 500-d word2vec BigFile), then measures and prints every figure on a line of its
own, ``name: value unit`` (lines starting with ``#`` are progress and notes). What each figure
means and how it is measured: bench/README.md. The generated data is deleted at the end
unless --keep.

Every part runs in a fresh subprocess of this script (``--part NAME``), so that each memory
figure is that process's own (this orchestrating process stays small: on Linux a child's
ru_maxrss starts at its parent's peak). The input pipeline, the model's step and the tester
run one after the other in one subprocess, so their ratios compare figures measured in the
same process and machine state."""
import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from w2vv import layout  # light: no TensorFlow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (in the parts)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRAIN = "mscoco2014dev-train"
CONFIG = "w2vv_attention_ctl"       # the paper's enhanced W2VV: attention + ctl
CONFIG_MSE = "w2vv_attention"       # the same with the mse loss (for the mse input pipeline)
FEATURE_DIM = 2048
W2V_DIM = 500
CAPTION_VOCAB = 25_000              # distinct words of the generated captions
ZIPF_EXPONENT = 1.4                 # gives ~11k words with count >= 5 at 606,757 sentences, as MSCOCO
STOPWORD_STRIDE = 4                 # stop words at every 4th of the top ranks: ~44% of tokens
UNKNOWN_FRACTION = 0.03             # content words word2vec lacks
MEAN_SENTENCE_WORDS = 10
DATA_VERSION = 1
BATCH = 100                         # sentences per batch (a ctl batch has 2 rows per sentence)

SHAPES = {
    "full": dict(images=121_286, sentences=606_757, w2v_words=1_700_000, train_steps=50,
                 input_batches=1000, model_steps=5, single_calls=100),
    "quick": dict(images=12_000, sentences=60_000, w2v_words=200_000, train_steps=10,
                  input_batches=0, model_steps=5, single_calls=50),
}
GOALS = [  # (figure, comparison, threshold)
    ("input_over_model_ratio", ">=", 20),
    ("rank_1k_s", "<", 0.5),
    ("rank_5k_s", "<", 5),
    ("tester_batched_over_single_ratio", ">=", 20),
    ("w2v_open_s", "<", 5),
    ("w2v_open_rss_mb", "<", 500),
]

FIGURES = {}


def figure(name, value, unit, fmt="{:.4g}"):
    """Print one figure, ``name: value unit``, and keep it for the goal summary."""
    FIGURES[name] = value
    text = value if isinstance(value, str) else fmt.format(value)
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def note(message):
    print(f"# [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def peak_rss_mb():
    """ru_maxrss, the figure asked for (Linux: KiB). In a child it is at least the parent's peak
    RSS at the fork (the kernel carries it across exec): see main()."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_peak_rss_mb():
    """VmHWM: the peak RSS of this process's own memory since its exec (a cross-check)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return float("nan")


def rss_now_mb():
    """Current (RssAnon, RssFile) in MB: private memory, and file pages mapped (memory-mapped
    BigFiles count here: clean page-cache pages, shared and reclaimable, but part of RSS)."""
    try:
        with open("/proc/self/status") as f:
            fields = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in f if line.startswith("Rss")}
        return fields.get("RssAnon", float("nan")), fields.get("RssFile", float("nan"))
    except OSError:
        return float("nan"), float("nan")


def load_average():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


# ---------------------------------------------------------------- machine

def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    figure("machine_cpu", cpu, "")
    figure("machine_cores", os.cpu_count(), "", "{}")
    figure("machine_ram_gb", ram_gb, "GB", "{:.1f}")
    figure("machine_python", platform.python_version(), "")
    figure("machine_numpy", np.__version__, "")
    figure("machine_load_average", load_average(), "(1, 5, 15 min, at the start: other processes share the cores)")
    # TensorFlow's version without importing it here (the parent stays light until it needs it)
    from importlib.metadata import PackageNotFoundError, version
    for dist in ("tensorflow-cpu", "tensorflow", "keras"):
        try:
            figure(f"machine_{dist.replace('-', '_')}", version(dist), "")
        except PackageNotFoundError:
            pass


# ---------------------------------------------------------------- data

def caption_vocabulary(rng, stopwords, w2v_words):
    """CAPTION_VOCAB words, most frequent first: the stop words at every STOPWORD_STRIDE-th of
    the top ranks, content words drawn from word2vec's ids (a few it lacks, ``x%06d``)."""
    n_content = CAPTION_VOCAB - len(stopwords)
    first_w_id = len(stopwords)  # word2vec row of w0000001 (the stop words come first)
    ids = rng.choice(w2v_words - first_w_id, size=n_content, replace=False) + 1
    content = [f"w{i:07d}" for i in ids]
    for j in np.flatnonzero(rng.random(n_content) < UNKNOWN_FRACTION):
        content[j] = f"x{j:06d}"
    vocab, content_iter = [], iter(content)
    stop_iter = iter(stopwords)
    for rank in range(CAPTION_VOCAB):
        word = next(stop_iter, None) if rank % STOPWORD_STRIDE == 0 else None
        vocab.append(word if word is not None else next(content_iter))
    return vocab


def w2v_ids(stopwords, n):
    return list(stopwords) + [f"w{i:07d}" for i in range(1, n - len(stopwords) + 1)]


def generate(root, shapes, seed=0):
    """A VisualSearch root with TRAIN's captions and ImageSets, the feature BigFile and the
    English word2vec BigFile, at the given shapes. Deterministic for a seed."""
    from w2vv.text import DEFAULT_STOPWORDS, load_stopwords

    rng = np.random.default_rng(seed)
    marker = os.path.join(root, "bench_data.json")
    wanted = dict(shapes=dict(images=shapes["images"], sentences=shapes["sentences"],
                              w2v_words=shapes["w2v_words"]), seed=seed, version=DATA_VERSION)
    if os.path.isfile(marker):
        with open(marker) as f:
            if json.load(f) == wanted:
                note(f"data already generated in {root} (same shapes): reused")
                return
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    t0 = time.perf_counter()
    stopwords = sorted(load_stopwords(DEFAULT_STOPWORDS["en"]))
    _write_word2vec(root, rng, stopwords, shapes["w2v_words"])
    note(f"word2vec {shapes['w2v_words']} x {W2V_DIM} written ({time.perf_counter() - t0:.0f} s)")
    image_ids = _write_images(root, rng, shapes["images"])
    note(f"features {shapes['images']} x {FEATURE_DIM} written ({time.perf_counter() - t0:.0f} s)")
    _write_captions(root, rng, stopwords, shapes["w2v_words"], image_ids, shapes["sentences"])
    with open(marker, "w") as f:
        json.dump(wanted, f)
    note(f"{shapes['sentences']} captions written ({time.perf_counter() - t0:.0f} s to generate everything)")


def _write_word2vec(root, rng, stopwords, n_w2v):
    """The English word2vec: stop words first, then w0000001 ...; 500-d."""
    from w2vv.bigfile import write_bigfile
    vectors = np.empty((n_w2v, W2V_DIM), np.float32)
    for start in range(0, n_w2v, 100_000):
        rows = vectors[start:start + 100_000]
        rows[:] = rng.standard_normal(rows.shape, dtype=np.float32)
        rows *= 0.1
    write_bigfile(layout.en_word2vec_dir(root), w2v_ids(stopwords, n_w2v), vectors)


def _write_images(root, rng, n_img):
    """The images' ids (TRAIN's ImageSets) and their features (non-negative, like ReLU CNN features)."""
    from w2vv.bigfile import write_bigfile
    numbers = np.sort(rng.choice(600_000, size=n_img, replace=False))
    image_ids = [f"COCO_train2014_{k:012d}" for k in numbers]
    features = np.empty((n_img, FEATURE_DIM), np.float32)
    for start in range(0, n_img, 20_000):
        rows = features[start:start + 20_000]
        rows[:] = rng.standard_normal(rows.shape, dtype=np.float32)
        np.maximum(rows, 0, out=rows)
    write_bigfile(layout.feature_dir(root, layout.PAPER_FEATURE), image_ids, features)
    os.makedirs(os.path.dirname(layout.imageset_file(root, TRAIN)), exist_ok=True)
    with open(layout.imageset_file(root, TRAIN), "w") as f:
        f.write("".join(f"{i}\n" for i in image_ids))
    return image_ids


def _write_captions(root, rng, stopwords, n_w2v, image_ids, n_sent):
    """TRAIN's captions: about 5 per image, about 10 words, Zipf over a 25k-word vocabulary."""
    vocab = np.array(caption_vocabulary(rng, stopwords, n_w2v), dtype=object)
    p = 1.0 / np.arange(1, CAPTION_VOCAB + 1) ** ZIPF_EXPONENT
    p /= p.sum()
    lengths = np.clip(rng.poisson(MEAN_SENTENCE_WORDS - 3, n_sent) + 3, 3, 40)
    words = vocab[rng.choice(CAPTION_VOCAB, size=int(lengths.sum()), p=p)]
    ends = np.cumsum(lengths)
    n_img = len(image_ids)
    per_image = np.full(n_img, n_sent // n_img) + (np.arange(n_img) < n_sent % n_img)
    caption_path = layout.caption_file(root, TRAIN)
    os.makedirs(os.path.dirname(caption_path), exist_ok=True)
    with open(caption_path, "w", encoding="utf-8") as f:
        s = 0
        for img, count in zip(image_ids, per_image):
            for k in range(count):
                sentence = " ".join(words[ends[s] - lengths[s]:ends[s]])
                f.write(f"{img}#{k} {sentence[0].upper()}{sentence[1:]}.\n")
                s += 1


# ---------------------------------------------------------------- parts in fresh subprocesses

def part_vocab(args):
    """Stage 1 as build_vocab.py runs it: both vocabularies of TRAIN."""
    from w2vv.text import Tokenizer
    from w2vv.vocab import build_vocabularies, load_vocab
    t0 = time.perf_counter()
    build_vocabularies(args.root, TRAIN, Tokenizer("en"), 5, overwrite=True, log=lambda m: None)
    figure("vocab_build_s", time.perf_counter() - t0, "s")
    figure("vocab_peak_rss_mb", peak_rss_mb(), "MB", "{:.0f}")
    for style in ("bow", "bow_filterstop"):
        figure(f"shape_{style}_vocab", len(load_vocab(layout.vocab_file(args.root, TRAIN, style, 5))), "words", "{}")


def part_train(args):
    """Training at scale in a fresh process: encode every sentence, then train_on_batch steps."""
    t_start = time.perf_counter()
    from w2vv.batches import TrainingBatches
    from w2vv.config import load_config
    from w2vv.run_inputs import load_collection, make_encoder, open_features
    from w2vv.model import build_model
    from w2vv.training import compile_for_training

    cfg = load_config(CONFIG)
    t0 = time.perf_counter()
    encoder = make_encoder(args.root, TRAIN, cfg)
    shutil.rmtree(encoder.cache_dir, ignore_errors=True)  # measure the encoding, not a cache hit
    features = open_features(args.root, cfg)
    collection, dropped = load_collection(args.root, TRAIN, encoder, features, keep_incomplete=False,
                                          log=lambda m: note(f"train: {m}"))
    figure("train_encode_s", time.perf_counter() - t0, "s")
    figure("train_sentences_kept", len(collection.sentences), "sentences", "{}")
    figure("train_rss_after_encode_mb", peak_rss_mb(), "MB", "{:.0f}")
    model = build_model(cfg, encoder.seq_vocab_size, encoder.aux_dim,
                        encoder.embedding_matrix(np.random.default_rng(0)))
    compile_for_training(model, cfg)  # the trainer's compile call
    batches = TrainingBatches(collection, features, cfg, BATCH, seed=0)
    batches.on_epoch_begin()
    times = []
    for step in range(args.train_steps):
        x, y = batches[step % len(batches)]
        t = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t)
    figure("train_steps", len(times), "steps", "{}")
    if len(times) > 1:
        figure("train_step_s", float(np.mean(times[1:])), "s (mean, first step left out)", "{:.3g}")
    figure("train_total_s", time.perf_counter() - t_start, "s")
    figure("train_peak_rss_mb", peak_rss_mb(), "MB", "{:.0f}")
    figure("train_peak_vmhwm_mb", own_peak_rss_mb(), "MB (VmHWM, cross-check)", "{:.0f}")
    anon, file = rss_now_mb()
    figure("train_rss_anon_end_mb", anon, "MB (private memory at the end)", "{:.0f}")
    figure("train_rss_file_end_mb", file, "MB (mapped file pages at the end: BigFiles, libraries)", "{:.0f}")


def part_w2v(args):
    """Open the word2vec BigFile and read a 10,000-word vocabulary, in a fresh process."""
    from w2vv.text import DEFAULT_STOPWORDS, load_stopwords
    rng = np.random.default_rng(1)
    n_stop = len(load_stopwords(DEFAULT_STOPWORDS["en"]))
    ids = rng.choice(args.w2v_words - n_stop, size=args.w2v_lookup, replace=False) + 1
    words = [f"w{i:07d}" if rng.random() > UNKNOWN_FRACTION else f"x{i:07d}" for i in ids]
    from w2vv.word2vec import open_word2vec
    t0 = time.perf_counter()
    w2v = open_word2vec(layout.en_word2vec_dir(args.root), expected_dim=W2V_DIM)
    t1 = time.perf_counter()
    vectors, known = w2v.lookup(words)
    t2 = time.perf_counter()
    assert vectors.shape == (len(words), W2V_DIM) and known.sum() > 0.9 * len(words)
    figure("w2v_open_s", t2 - t0, "s")
    figure("w2v_open_only_s", t1 - t0, "s (opening, before the lookup)")
    figure("w2v_lookup_s", t2 - t1, f"s ({len(words)} words, {int(known.sum())} known)")
    figure("w2v_open_rss_mb", peak_rss_mb(), "MB", "{:.0f}")
    figure("w2v_open_vmhwm_mb", own_peak_rss_mb(), "MB (VmHWM, cross-check)", "{:.0f}")
    anon, file = rss_now_mb()
    figure("w2v_open_rss_anon_mb", anon, "MB (private memory: the id list and index, the vectors read)", "{:.0f}")
    figure("w2v_open_rss_file_mb", file, "MB (mapped file pages: feature.bin pages the lookup touched)", "{:.0f}")


def part_rank_write(args):
    """The result files of an n × n table into a temp folder; prints 'ready' when the
    table is built, so that the parent times out the writing only."""
    from w2vv.ranking import cosine_scores, write_results
    n = args.rank_n
    queries, items = random_vectors(n, 0), random_vectors(n, 1)
    scores = cosine_scores(queries, items)
    query_ids = [f"COCO_val2014_{i:012d}#0" for i in range(n)]
    item_ids = [f"COCO_val2014_{i:012d}" for i in range(n)]
    relevant = np.eye(n, dtype=bool)
    print("ready", flush=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.root) as out:
        write_results(out, query_ids, item_ids, scores, relevant)
    print(f"rank_write_s: {time.perf_counter() - t0:.4g} s", flush=True)


def random_vectors(n, seed):
    """Predicted vectors and image features are ReLU outputs: non-negative, 2048-d."""
    return np.maximum(np.random.default_rng(seed).standard_normal((n, FEATURE_DIM), dtype=np.float32), 0)


def run_part(args, name, extra=()):
    """Run ``--part name`` in a fresh interpreter; echo its figures and keep them."""
    cmd = [sys.executable, "-m", "bench.bench_pipeline", "--part", name, "--root", args.root, "--parts", args.parts,
           "--w2v_lookup", str(args.w2v_lookup), *extra]
    for key, value in args.shapes.items():
        cmd += [f"--{key}", str(value)]
    run_script(cmd, f"part {name}")


def run_script(cmd, label, check=True):
    """Run ``cmd`` (a fresh interpreter); echo its output and keep its ``name: value unit`` figures.
    Returns its exit status; a failure stops this process too unless ``check`` is false."""
    note(f"{label}: fresh subprocess")
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            name_value = line.split(":", 1)
            if not line.startswith("#") and len(name_value) == 2:
                try:
                    FIGURES[name_value[0]] = float(name_value[1].split()[0].replace(",", ""))
                except (ValueError, IndexError):
                    FIGURES[name_value[0]] = name_value[1].strip()
    if proc.returncode and check:
        raise SystemExit(f"error: {label} failed (exit status {proc.returncode})")
    note(f"{label} took {time.perf_counter() - t0:.0f} s (including the interpreter and imports)")
    return proc.returncode


# ---------------------------------------------------------------- parts in this process

def load_training_data(args):
    from w2vv.config import load_config
    from w2vv.run_inputs import load_collection, make_encoder, open_features
    cfg = load_config(CONFIG)
    encoder = make_encoder(args.root, TRAIN, cfg)
    features = open_features(args.root, cfg)
    t0 = time.perf_counter()
    collection, _ = load_collection(args.root, TRAIN, encoder, features, keep_incomplete=False,
                                    log=lambda m: note(m))
    note(f"{len(collection.sentences)} training sentences loaded in {time.perf_counter() - t0:.1f} s "
         f"(the encoding cache written by the train part, when it ran)")
    figure("shape_aux_dim", encoder.aux_dim, "(bag of words + 500)", "{}")
    return encoder, features, collection


def bench_input(args, collection, features):
    """TrainingBatches.__getitem__ alone over an epoch (or --input_batches batches)."""
    from w2vv.config import load_config
    from w2vv.batches import TrainingBatches
    for label, config in (("mse", CONFIG_MSE), ("ctl", CONFIG)):
        cfg = load_config(config)
        batches = TrainingBatches(collection, features, cfg, BATCH, seed=0)
        batches.on_epoch_begin()
        n = len(batches) if not args.input_batches else min(args.input_batches, len(batches))
        sentences = 0
        t0 = time.perf_counter()
        for i in range(n):
            x, _ = batches[i]
            sentences += len(x[0]) // (2 if label == "ctl" else 1)
        seconds = time.perf_counter() - t0
        figure(f"input_{label}_sent_per_s", sentences / seconds, "sent/s", "{:.0f}")
        note(f"input {label}: {n} batches of {BATCH} sentences in {seconds:.1f} s "
             f"({1000 * seconds / n:.2f} ms a batch)")


def build_paper_model(encoder):
    from w2vv.config import load_config
    from w2vv.model import build_model
    from w2vv.training import compile_for_training
    cfg = load_config(CONFIG)
    model = build_model(cfg, encoder.seq_vocab_size, encoder.aux_dim,
                        encoder.embedding_matrix(np.random.default_rng(0)))
    compile_for_training(model, cfg)
    figure("shape_model_params", model.count_params(), "parameters", "{:,}")
    return model, cfg


def bench_model(args, model, cfg, collection, features, warmup=2):
    """train_on_batch on 200-row ctl batches (100 sentences), batches fetched beforehand."""
    from w2vv.batches import TrainingBatches
    batches = TrainingBatches(collection, features, cfg, BATCH, seed=0)
    batches.on_epoch_begin()
    prepared = [batches[i % len(batches)] for i in range(warmup + args.model_steps)]
    for x, y in prepared[:warmup]:
        model.train_on_batch(x, y)
    times = []
    for x, y in prepared[warmup:]:
        t = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t)
    figure("model_step_sent_per_s", BATCH * len(times) / sum(times), "sent/s", "{:.1f}")
    note(f"model step: {np.mean(times):.2f} s a step of {2 * BATCH} rows (min {min(times):.2f}, "
         f"max {max(times):.2f}, {len(times)} steps after {warmup} warm-up)")
    if "input_ctl_sent_per_s" in FIGURES:
        figure("input_over_model_ratio", FIGURES["input_ctl_sent_per_s"] / FIGURES["model_step_sent_per_s"], "x",
               "{:.1f}")


def bench_tester(args, model, collection):
    """Batched prediction (predict_vectors, batch 1000) vs one predict_on_batch per sentence."""
    from w2vv.inference import predict_vectors
    sentences = collection.sentences.subset(np.arange(min(1000, len(collection.sentences))))
    predict_vectors(model, sentences, batch_size=1000)  # warm-up (traces the predict function)
    batched = []
    for _ in range(2):
        t = time.perf_counter()
        predict_vectors(model, sentences, batch_size=1000)
        batched.append(time.perf_counter() - t)
    batched_rate = len(sentences) / min(batched)

    def one(i):
        return model.predict_on_batch(list(sentences.inputs([i])))
    for i in range(3):  # warm-up at batch size 1
        one(i)
    n = min(args.single_calls, len(sentences))
    t = time.perf_counter()
    for i in range(n):
        one(i)
    single_rate = n / (time.perf_counter() - t)
    figure("tester_batched_sent_per_s", batched_rate, f"sent/s ({len(sentences)} sentences, batch 1000)", "{:.1f}")
    figure("tester_single_sent_per_s", single_rate, f"sent/s ({n} calls of one sentence)", "{:.2f}")
    figure("tester_batched_over_single_ratio", batched_rate / single_rate, "x", "{:.1f}")


def bench_rank(args):
    """Cosine table, every row fully ordered, first-hit ranks and figures; then the files."""
    from w2vv.metrics import BLOCK_ROWS, descending_order, first_relevant_ranks, retrieval_metrics
    from w2vv.ranking import cosine_scores, write_results
    for n, label, repeats in ((1000, "1k", 3), (5000, "5k", 2)):
        queries, items = random_vectors(n, 0), random_vectors(n, 1)
        relevant = np.eye(n, dtype=bool)  # one sentence per image, as cococntest
        best = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            scores = cosine_scores(queries, items)
            t1 = time.perf_counter()
            for start in range(0, n, BLOCK_ROWS):  # blocks, as ranking.write_ranking orders them
                descending_order(scores[start:start + BLOCK_ROWS])
            t2 = time.perf_counter()
            retrieval_metrics(first_relevant_ranks(scores, relevant))
            t3 = time.perf_counter()
            if best is None or t3 - t0 < best[0]:
                best = (t3 - t0, t1 - t0, t2 - t1, t3 - t2)
        figure(f"rank_{label}_s", best[0], f"s (best of {repeats})", "{:.3g}")
        figure(f"rank_{label}_cosine_s", best[1], "s", "{:.3g}")
        figure(f"rank_{label}_order_s", best[2], "s", "{:.3g}")
        figure(f"rank_{label}_metrics_s", best[3], "s", "{:.3g}")
        if n == 1000:
            with tempfile.TemporaryDirectory(dir=args.root) as out:
                t0 = time.perf_counter()
                write_results(out, [f"COCO_val2014_{i:012d}#0" for i in range(n)],
                              [f"COCO_val2014_{i:012d}" for i in range(n)], scores, relevant)
                figure("rank_1k_write_s", time.perf_counter() - t0, "s", "{:.3g}")
        del scores
    predicted = 25 * FIGURES["rank_1k_write_s"]
    if predicted > 120:
        figure("rank_5k_write_s", "skipped", f"(25 x the 1k write predicts {predicted:.0f} s > 60 s)")
        return
    cmd = [sys.executable, "-m", "bench.bench_pipeline", "--part", "rank_write", "--root", args.root,
           "--rank_n", "5000"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("error: the rank_write part failed")
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            figure("rank_5k_write_s", "skipped", "(still writing after 60 s: stopped)")
            return
        line = proc.stdout.read()
    figure("rank_5k_write_s", float(line.split(":")[1].split()[0]), "s", "{:.3g}")


# ---------------------------------------------------------------- main

def summary(goals=GOALS):
    print("# goals")
    for name, op, threshold in goals:
        value = FIGURES.get(name)
        if not isinstance(value, (int, float)):
            print(f"# {name} {op} {threshold}: not measured")
            continue
        met = value >= threshold if op == ">=" else value < threshold
        print(f"# {name} {op} {threshold}: {'met' if met else 'MISSED'} ({value:.4g})")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true", help="the paper's shapes (default: quick shapes)")
    p.add_argument("--sentences", type=int, help="training sentences (quick 60,000; full 606,757)")
    p.add_argument("--images", type=int, help="training images (quick 12,000; full 121,286)")
    p.add_argument("--w2v_words", type=int, help="word2vec size (quick 200,000; full 1,700,000)")
    p.add_argument("--w2v_lookup", type=int, default=10_000, help="words looked up in word2vec (10,000)")
    p.add_argument("--train_steps", type=int, help="training steps of the memory part (quick 10; full 50)")
    p.add_argument("--input_batches", type=int,
                   help="batches timed for the input figures (0: a whole epoch; quick 0, full 1000)")
    p.add_argument("--model_steps", type=int, help="timed train_on_batch steps, after 2 warm-up steps (5)")
    p.add_argument("--single_calls", type=int, help="one-sentence predict calls timed (quick 50; full 100)")
    p.add_argument("--parts", default="vocab,train,input,model,tester,rank,w2v",
                   help="comma-separated parts to run (default: all)")
    p.add_argument("--out", help="folder for the generated data (default: a new temp folder under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the generated data (reused by a later run with --out)")
    p.add_argument("--part", help=argparse.SUPPRESS)    # internal: run one part in this (fresh) process
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--rank_n", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    shapes = dict(SHAPES["full" if args.full else "quick"])
    for key in shapes:
        if getattr(args, key, None) is not None:
            shapes[key] = getattr(args, key)
        setattr(args, key, shapes[key])
    args.shapes = shapes
    return args


def part_generate(args):
    generate(args.root, args.shapes)


def part_models(args):
    """The input pipeline, the model's step and the tester, in one process (one machine state)."""
    parts = set(args.parts.split(","))
    encoder, features, collection = load_training_data(args)
    if "input" in parts:
        bench_input(args, collection, features)
    if parts & {"model", "tester"}:
        model, cfg = build_paper_model(encoder)
        if "model" in parts:
            bench_model(args, model, cfg, collection, features)
        if "tester" in parts:
            bench_tester(args, model, collection)


PARTS = {"generate": part_generate, "vocab": part_vocab, "train": part_train, "models": part_models,
         "rank": bench_rank, "rank_write": part_rank_write, "w2v": part_w2v}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.part:
        PARTS[args.part](args)
        return 0
    parts = set(args.parts.split(","))
    t_start = time.perf_counter()
    with scratch_root(args, "w2vv_bench_"):
        machine()
        figure("mode", "full" if args.full else "quick", "")
        for key in ("images", "sentences", "w2v_words"):
            figure(f"shape_{key}", args.shapes[key], "", "{:,}")
        figure("shape_feature_dim", FEATURE_DIM, "", "{}")
        figure("shape_w2v_dim", W2V_DIM, "", "{}")
        figure("shape_caption_vocab", CAPTION_VOCAB, f"words (Zipf exponent {ZIPF_EXPONENT})", "{:,}")
        # Every part runs in a fresh subprocess of this small process: a child's ru_maxrss starts
        # at its parent's peak RSS (Linux carries it across fork + exec), so this process must
        # never hold much memory itself.
        run_part(args, "generate")
        if "vocab" in parts or not os.path.isfile(layout.vocab_file(args.root, TRAIN, "bow", 5)):
            run_part(args, "vocab")
        if "train" in parts:
            run_part(args, "train")
        if parts & {"input", "model", "tester"}:
            run_part(args, "models")
        if "rank" in parts:
            run_part(args, "rank")
        if "w2v" in parts:
            run_part(args, "w2v")
        figure("bench_total_s", time.perf_counter() - t_start, "s", "{:.0f}")
        figure("machine_load_average_end", load_average(), "(1, 5, 15 min)")
        note(f"peak RSS of this orchestrating process: {peak_rss_mb():.0f} MB (a floor of the children's ru_maxrss)")
        summary()
    return 0


@contextlib.contextmanager
def scratch_root(args, prefix):
    """Sets ``args.root`` to ``<--out or a new temporary folder>/VisualSearch`` for the generated data,
    and deletes that data at the end (also after an error) unless ``--keep``."""
    created = args.out is None
    out = args.out or tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    args.root = os.path.join(out, "VisualSearch")
    try:
        yield
    finally:
        if args.keep:
            note(f"data kept in {args.root}")
        else:
            shutil.rmtree(out if created else args.root, ignore_errors=True)
            note(f"generated data deleted ({out if created else args.root})")


if __name__ == "__main__":
    sys.exit(main())
