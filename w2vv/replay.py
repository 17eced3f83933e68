"""``python -m w2vv.replay DIR OUT.npz``: replay the training steps the published W2VV++ or SEA code took.

``DIR`` holds ``init.npz`` (every parameter before step 1, under the published code's names and in
torch's layouts) and ``batches.npz`` (per step S = 0, 1, …: ``seq_S`` word indices right-padded with
0, ``len_S`` the lengths, ``w2v_S``, ``bow_S``, ``feat_S``), as tests/fixtures/w2vvpp_train_steps/ and
sea_train_steps/ (tests/fixtures/README.md). The parameter names tell W2VV++ from SEA; every size is
read from the shapes. The model is the family's config (w2vv_configs/w2vvpp_resnext101.py,
sea_bow_w2v_gru.py) at those sizes, dropout 0, built by w2vv.common_space and compiled as training
compiles it; it takes twelve steps, one a batch. ``OUT.npz`` gets every parameter after steps 1, 2, 3,
6 and 12 as ``NAME@K`` (the published names and layouts) and ``loss``, the loss of each step."""
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from . import cli
from .cli import quiet_tensorflow, run
from .errors import InputError

STEPS = 12
SAVED_AFTER = (1, 2, 3, 6, 12)
PROBE_BATCH = STEPS  # the batch after the trained ones, when there: encoded before step 1 and after the last
FAMILY_CONFIGS = {"w2vvpp": "w2vvpp_resnext101", "sea": "sea_bow_w2v_gru"}
BATCH_KEYS = ("seq", "len", "w2v", "bow", "feat")


@dataclass
class Sizes:
    vocab_size: int
    embed_size: int
    lstm_size: int
    width: int
    feature_dim: int
    bow_dim: int
    w2v_dim: int


@dataclass
class Replay:
    family: str
    sizes: Sizes
    losses: list = field(default_factory=list)
    weights: dict = field(default_factory=dict)   # NAME@K -> array (torch's layout)
    probe: dict = field(default_factory=dict)     # text_before, image_before, text_after, image_after

    def arrays(self):
        """What ``OUT.npz`` holds."""
        return {**self.weights, "loss": np.asarray(self.losses, np.float64)}


def _load(path):
    if not os.path.isfile(path):
        raise InputError(f"{path}: not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable .npz ({str(e).splitlines()[0] if str(e) else type(e).__name__})") \
            from None


def read_folder(folder):
    """(family, sizes, init, batches) of a folder of published steps; InputError in one line otherwise."""
    from .torch_layout import family_of_torch_names
    init = _load(os.path.join(folder, "init.npz"))
    batches = _load(os.path.join(folder, "batches.npz"))
    family = family_of_torch_names(init)
    if family is None:
        raise InputError(f"{os.path.join(folder, 'init.npz')}: not the parameters of a published W2VV++ or SEA "
                         f"model (names such as txt.encoder.rnn_encoder.rnn.weight_ih_l0 or "
                         f"txt.txt_nets.2.encoder.rnn.weight_ih_l0 expected)")
    missing = [f"{k}_{s}" for s in range(STEPS) for k in BATCH_KEYS if f"{k}_{s}" not in batches]
    if missing:
        raise InputError(f"{os.path.join(folder, 'batches.npz')}: lacks {missing[0]} ({STEPS} batches of "
                         f"{', '.join(BATCH_KEYS)} expected)")
    sizes = _sizes(family, init, batches, folder)
    for s in range(STEPS + 1 if f"seq_{PROBE_BATCH}" in batches else STEPS):
        _check_batch(batches, s, sizes, folder)
    return family, sizes, init, batches


def _sizes(family, init, batches, folder):
    gru = "txt.encoder.rnn_encoder" if family == "w2vvpp" else "txt.txt_nets.2.encoder"
    image = "vis.fc1" if family == "w2vvpp" else "vis.vis_nets.0.transformer.fc1"
    vocab_size, embed_size = init[f"{gru}.we.weight"].shape
    width, feature_dim = init[f"{image}.weight"].shape
    sizes = Sizes(int(vocab_size), int(embed_size), int(init[f"{gru}.rnn.weight_hh_l0"].shape[1]), int(width),
                  int(feature_dim), int(batches["bow_0"].shape[1]), int(batches["w2v_0"].shape[1]))
    text_in = {"w2vvpp": {"txt.transformer.fc1.weight": sizes.lstm_size + sizes.w2v_dim + sizes.bow_dim},
               "sea": {"txt.txt_nets.0.transformer.fc1.weight": sizes.bow_dim,
                       "txt.txt_nets.1.transformer.fc1.weight": sizes.w2v_dim,
                       "txt.txt_nets.2.transformer.fc1.weight": sizes.lstm_size}}[family]
    for name, expected in text_in.items():
        if init[name].shape[1] != expected:
            raise InputError(f"{os.path.join(folder, 'init.npz')}: {name} takes {init[name].shape[1]} inputs, but the "
                             f"batches' encodings make {expected}")
    return sizes


def _check_batch(batches, s, sizes, folder):
    where = os.path.join(folder, "batches.npz")
    seq, lengths = batches[f"seq_{s}"], batches[f"len_{s}"]
    n = len(seq)
    shapes = {"seq": (n, seq.shape[1] if seq.ndim == 2 else -1), "len": (n,), "w2v": (n, sizes.w2v_dim),
              "bow": (n, sizes.bow_dim), "feat": (n, sizes.feature_dim)}
    for key, shape in shapes.items():
        if batches[f"{key}_{s}"].shape != shape:
            raise InputError(f"{where}: {key}_{s} has shape {batches[f'{key}_{s}'].shape}, expected {shape}")
    valid = np.arange(seq.shape[1])[None, :] < lengths[:, None]
    if not np.array_equal(seq != 0, valid) or seq.max() >= sizes.vocab_size or seq.min() < 0:
        raise InputError(f"{where}: seq_{s} is not right-padded with 0 to len_{s}, or holds an index outside "
                         f"the {sizes.vocab_size}-word vocabulary")


def batch_inputs(batches, s):
    """The model's three inputs for batch ``s``."""
    aux = np.concatenate([batches[f"bow_{s}"], batches[f"w2v_{s}"]], axis=1).astype(np.float32)
    return [batches[f"seq_{s}"].astype(np.int32), aux, batches[f"feat_{s}"].astype(np.float32)]


def build(family, sizes):
    """The family's config at the folder's sizes (dropout 0, as the steps were taken) and its models."""
    from .common_space import build_common_space
    from .config import load_config
    cfg = load_config(FAMILY_CONFIGS[family], overrides=dict(
        lstm_size=sizes.lstm_size, embed_size=sizes.embed_size, n_layers=f"0-{sizes.width}", dropout=0.0))
    return cfg, build_common_space(cfg, sizes.vocab_size, sizes.bow_dim, sizes.w2v_dim, sizes.feature_dim)


def replay(folder):
    """The twelve steps from ``folder``'s initial weights on its batches, the model compiled as training compiles
    it (w2vv.training.compile_for_training)."""
    family, sizes, init, batches = read_folder(folder)  # before Keras starts: a bad folder stops in one line
    from .common_space import no_targets
    from .torch_layout import from_torch, to_torch
    from .training import compile_for_training
    cfg, models = build(family, sizes)
    try:
        from_torch(models, init)
    except ValueError as e:
        raise InputError(f"{os.path.join(folder, 'init.npz')}: {e}") from None
    probe = f"seq_{PROBE_BATCH}" in batches
    result = Replay(family, sizes)
    if probe:
        result.probe.update(_encode(models, batches, "before"))
    compile_for_training(models.train, cfg)
    for step in range(1, STEPS + 1):
        x = batch_inputs(batches, step - 1)
        result.losses.append(float(models.train.train_on_batch(x, no_targets(len(x[0])))))
        if step in SAVED_AFTER:
            result.weights.update({f"{name}@{step}": w for name, w in to_torch(models).items()})
    if probe:
        result.probe.update(_encode(models, batches, "after"))
    return result


def _encode(models, batches, when):
    seq, aux, feat = batch_inputs(batches, PROBE_BATCH)
    return {f"text_{when}": np.asarray(models.text.predict_on_batch([seq, aux])),
            f"image_{when}": np.asarray(models.image.predict_on_batch(feat))}


def parse_args(argv):
    p = cli.parser(__doc__, raw=True)
    p.add_argument("folder", help="a folder with init.npz and batches.npz")
    p.add_argument("out", help="the .npz to write")
    return cli.parse_args(p, argv)


def main(argv):
    args = parse_args(argv)
    quiet_tensorflow()
    result = replay(args.folder)
    from .atomic import atomic_open
    with atomic_open(args.out, "wb") as f:
        np.savez(f, **result.arrays())
    print(f"{result.family}: {STEPS} steps, loss {result.losses[0]:.6f} -> {result.losses[-1]:.6f}; "
          f"{len(result.weights)} arrays after steps {', '.join(map(str, SAVED_AFTER))} -> {args.out}")


if __name__ == "__main__":
    sys.exit(run(main))
