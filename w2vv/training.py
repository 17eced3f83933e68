"""The training rule (docs/method.md#the-training-rule): per-epoch validation by mean AP, best-epoch weights,
learning-rate halving, early stop, and the checkpoint folder's files. W2VV's successors (``cfg.family``
'w2vvpp', 'sea') train here too, by their published rule: their two towers (w2vv.common_space) on
(sentence, image feature) batches (``batches.PairBatches``), validated by the mean inverted rank of each
validation sentence's image (``validation_figure``), the rate scheduled as their torch versions did
(w2vv.torch_schedule)."""
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field

import keras
import numpy as np

from . import backend, checkpoint, layout, runs
from .atomic import atomic_open, remove_temporaries, write_text
from .batches import PairBatches, TrainingBatches
from .config import VAL_NAMES
from .errors import InputError
from .feature_norm import normalize_features
from .inference import FAMILY_NAMES, predict_vectors, sentence_image_scores, sentence_model
from .losses import get_loss
from .metrics import mean_average_precision, mean_inverted_rank
from .model import build_model
from .optimizers import make_optimizer
from .ranking import cosine_scores
from .run_inputs import non_finite_input
from .torch_schedule import TorchPlateauRule
from .training_curves import plot_training_curves, tensorboard_callback

# training_curves.png is redrawn after an epoch only once the last drawing is this old, and after the
# last epoch: a drawing costs about 0.3 s of CPU, more than a whole epoch of a small model
CURVES_EVERY_S = 10.0


@dataclass
class PlateauRule:
    """Best figure, patience and learning-rate halving (docs/method.md#after-every-epoch).

    Every epoch ``since_lr_change`` goes up by one. An improvement resets ``patience`` (not
    ``since_lr_change``); otherwise ``patience`` goes up, and the lr is halved when more than
    ``decay_wait`` epochs have passed since the last change. Stop when patience > ``max_patience``."""
    lr: float
    max_patience: int = 10
    decay_wait: int = 2
    best: float = -np.inf
    best_epoch: int = -1
    patience: int = 0
    since_lr_change: int = 0

    def step(self, epoch, figure):
        """Record ``figure`` for ``epoch``; returns (improved, lr_halved, stop)."""
        self.since_lr_change += 1
        if figure > self.best:
            self.best, self.best_epoch, self.patience = figure, epoch, 0
            return True, False, False
        self.patience += 1
        halved = self.since_lr_change > self.decay_wait
        if halved:
            self.lr /= 2
            self.since_lr_change = 0
        return False, halved, self.patience > self.max_patience


def validation_map(model, collection, image_vectors):
    """Mean over val images of the AP of ranking all val sentences by cosine(image, v̂)."""
    sent_vecs = predict_vectors(model, collection.sentences)
    return mean_average_precision(cosine_scores(image_vectors, sent_vecs), collection.relevance())


def validation_figure(metric, model, towers, collection, val_images):
    """The validation figure ``metric`` (the config's ``val_metric``) of W2VV's ``model`` (``towers`` None)
    or of a successor's ``towers``: 'map' (W2VV's: ``validation_map``; a successor's the same on its
    scores), 'mir_t2i' (the successors': the mean over val sentences of 1 / the rank of the sentence's
    image among the val images, as their published ``validate`` ranks them)."""
    if towers is None and metric == "map":
        return validation_map(model, collection, val_images)
    successor = towers is not None
    model = towers if successor else model
    scores = sentence_image_scores(model, successor, predict_vectors(sentence_model(model, successor),
                                                                     collection.sentences), val_images)
    relevant = collection.relevance().T  # sentences × images
    if metric == "mir_t2i":
        return mean_inverted_rank(scores, relevant)
    return mean_average_precision(scores.T, relevant.T)



@dataclass
class Progress:
    """What a run has done so far, besides its variables: enough to resume it exactly."""
    seed: int
    rule: PlateauRule
    next_epoch: int = 0
    loss_history: list = field(default_factory=list)  # [(epoch, loss)]
    val_history: list = field(default_factory=list)   # [(epoch, the validation figure: cfg.val_metric)]
    lr_history: list = field(default_factory=list)    # [(epoch, lr used in that epoch)]

    def to_json(self):
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        rule = TorchPlateauRule if "schedule" in d["rule"] else PlateauRule  # a successor's, or W2VV's
        return cls(**{**d, "rule": rule(**d["rule"])})


def save_resume_state(folder, model, progress):
    """Every variable of the model (weights and dropout seeds) and of the optimizer, and the
    progress, in one file replaced atomically at the end of every epoch."""
    arrays = {f"model_{i}": np.asarray(v) for i, v in enumerate(model.variables)}
    arrays.update({f"optimizer_{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
    with atomic_open(os.path.join(folder, layout.RESUME_FILE), "wb") as f:
        np.savez(f, progress=np.array(progress.to_json()), **arrays)


def restore_resume_state(folder, model):
    path = os.path.join(folder, layout.RESUME_FILE)
    try:
        with np.load(path) as data:
            for prefix, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
                for i, variable in enumerate(variables):
                    variable.assign(data[f"{prefix}_{i}"])
            return Progress.from_json(str(data["progress"]))
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"{path}: cannot resume from it ({e}); delete it to start over") from None


class EpochEnd(keras.callbacks.Callback):
    """After every epoch: validation, the plateau rule, the best-weights file, the histories,
    the resume state and (``CURVES_EVERY_S``) the training curves. ``towers``: a successor's
    ``CommonSpaceModels`` (None: W2VV's model, ``self.model``), validated by ``validation_figure``."""

    def __init__(self, folder, val, features, cfg, progress, log, towers=None):
        super().__init__()
        self.folder, self.val, self.log = folder, val, log
        self.val_images = normalize_features(features.read_rows(val.image_rows), cfg)  # read once, not per epoch
        self.towers, self.val_metric, self.val_name = towers, cfg.val_metric, VAL_NAMES[cfg.val_metric]
        self.progress = progress
        self.started = time.time()
        self.curves_drawn = None   # time.monotonic() of the last drawing of training_curves.png
        self.curves_behind = False  # an epoch ended since then

    def _draw_curves(self, at_least_every=0.0):
        if self.curves_drawn is None or time.monotonic() - self.curves_drawn >= at_least_every:
            plot_training_curves(self.folder)  # never fails training
            self.curves_drawn, self.curves_behind = time.monotonic(), False
        else:
            self.curves_behind = True

    def on_train_end(self, logs=None):
        if self.curves_behind:
            self._draw_curves()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite(logs["loss"]):  # before validation: weights that are not numbers could rank "best"
            raise NonFiniteLoss(epoch, logs["loss"])
        p, rule = self.progress, self.progress.rule
        figure = validation_figure(self.val_metric, self.model, self.towers, self.val, self.val_images)
        lr = rule.lr
        improved, halved, stop = rule.step(epoch, figure)
        p.loss_history.append((epoch, float(logs["loss"])))
        p.val_history.append((epoch, figure))
        p.lr_history.append((epoch, lr))
        p.next_epoch = epoch + 1
        if improved:
            checkpoint.save_weights(self.model, os.path.join(self.folder, _weights_file(epoch)))
        if halved:
            self.model.optimizer.learning_rate.assign(rule.lr)
        self._write_histories()
        self._draw_curves(at_least_every=CURVES_EVERY_S)
        save_resume_state(self.folder, self.model, p)
        remove_weights_but_the_best(self.folder, rule.best_epoch)  # once the state names the new best
        self.log(f"epoch {epoch}: loss {logs['loss']:.4f}  val {self.val_name} {figure:.4f}"
                 f"{' *best*' if improved else ''}  "
                 f"lr {lr:g}{f' -> {rule.lr:g}' if halved else ''}  patience {rule.patience}  "
                 f"{time.time() - self.started:.1f}s")
        if stop:
            self.log(f"early stop: {rule.patience} epochs without improvement")
            self.model.stop_training = True

    def _write_histories(self):
        p = self.progress
        best_first = sorted(p.val_history, key=lambda item: -item[1])
        for name, history in ((layout.LOSS_HISTORY_FILE, p.loss_history), (layout.LR_HISTORY_FILE, p.lr_history),
                              (layout.VAL_HISTORY_FILE, best_first)):
            write_text(os.path.join(self.folder, name),
                       "".join(f"{layout.epoch_label(e)} {value}\n" for e, value in history))


def _weights_file(epoch):
    return layout.weights_name(layout.epoch_label(epoch))


def remove_weights_but_the_best(folder, best_epoch):
    """Remove the weights files in ``folder`` but ``best_epoch``'s: after the resume state that names a new best is
    written (a kill in between left a state naming weights removed, and a model.json without weights once the epoch
    done again did not improve), and when a run resumes (a kill between a better epoch's weights and its state)."""
    best = _weights_file(best_epoch)
    for name in os.listdir(folder):
        if layout.is_weights_name(name) and name != best:
            os.remove(os.path.join(folder, name))


class NonFiniteLoss(Exception):
    """An epoch's training loss is NaN or infinite: the weights are no longer numbers."""


def non_finite_cause(inputs):
    """Where a training run's inputs (``TrainingInputs``) hold a value that is not a number, or, where they
    hold none, the likely cause."""
    return non_finite_input(inputs) or \
        "its inputs are finite numbers: a learning rate too high for this data? (lr, in --config_overrides)"


def compile_for_training(model, cfg, jit_compile="auto"):
    """The optimizer (Keras 2.2.4's step by default; ``optimizer_impl = 'torch'``: the successors' published step)
    and the loss ``cfg`` names (a successor's: its family's), under ``cfg.precision``'s arithmetic (float32
    products by default, as the original's): what every training step uses. A mixed-precision model must also
    have been built under it (``backend.use_precision`` first). ``jit_compile``: Keras's; its "auto" is XLA on a
    GPU under TensorFlow and JAX, which with float32 products was the fastest setting that replays the original's
    steps on an H200 (docs/gpu.md). ``model``: a successor's ``CommonSpaceModels.train``."""
    from .common_space import family_loss
    backend.use_precision(cfg.precision)
    loss = get_loss(cfg) if cfg.family == "w2vv" else family_loss(cfg)
    model.compile(optimizer=make_optimizer(cfg), loss=loss, jit_compile=jit_compile)
    # built now rather than inside the first traced step, which TensorFlow would then trace twice
    model.optimizer.build(model.trainable_variables)


def train(run, cfg, inputs, log=print, verbose=1):
    """Train ``cfg`` on ``run.train``, validating on ``run.val``; returns the checkpoint folder.
    An interrupted run (its resume state is in the folder) continues from its last finished epoch.
    ``inputs``: ``run_inputs.read_training_inputs(run, cfg, runs.resumes(run, cfg))``, read (and checked) by the
    caller before Keras is imported; ``verbose``: Keras's progress display (1: a bar per epoch, 2: a line per
    epoch, 0: none)."""
    name = run.name or cfg.name
    folder = runs.checkpoint_folder(run, cfg)
    resuming = runs.resumes(run, cfg)
    seed = run.seed if run.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    if run.seed is not None:
        backend.make_deterministic()
    backend.use_precision(cfg.precision)
    keras.utils.set_random_seed(seed)
    cfg, encoder, features = inputs.cfg, inputs.encoder, inputs.features
    train_set, val_set = inputs.train_set, inputs.val_set
    if run.distribute == "mirrored" and backend.gpu_count() < 2:
        log(f"warning: --distribute mirrored on {backend.gpu_count()} GPU(s): one replica, whose float sums and "
            f"dropout draws still differ from --distribute none's (the run records which)")
    with backend.distribution_scope(run.distribute):
        model, towers = build_and_compile(cfg, encoder, features.ndims, seed, run.image_towers_from)
    os.makedirs(folder, exist_ok=True)
    remove_temporaries(folder)  # a file being written when an earlier run here was killed
    if resuming:
        progress = restore_resume_state(folder, model)
        remove_weights_but_the_best(folder, progress.rule.best_epoch)
        log(f"resuming at epoch {progress.next_epoch} from {os.path.join(folder, layout.RESUME_FILE)}")
    else:
        progress = Progress(seed, new_rule(cfg))
        _forget_former_run(folder)
        _write_model_description(model, cfg, encoder, folder, log, features.ndims)
        runs.save_record(folder, name, inputs.settings)
    family = "" if cfg.family == "w2vv" else f" ({FAMILY_NAMES[cfg.family]})"
    if run.image_towers_from:
        trained = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        log(f"image tower(s): the English model's, frozen ({run.image_towers_from}): its space, for CL; "
            f"{trained:,} of the {model.count_params():,} parameters train")
    log(f"training {name}{family}: {len(train_set.sentences)} sentences, {len(val_set.sentences)} val sentences, "
        f"{model.count_params():,} parameters, loss {cfg.loss_fun}, seed {progress.seed}")
    batches = (TrainingBatches if towers is None else PairBatches)(train_set, features, cfg, run.batch_size,
                                                                   progress.seed, progress.next_epoch)
    stopped = progress.rule.patience > progress.rule.max_patience
    if progress.next_epoch < cfg.max_epochs and not stopped:
        callbacks = [EpochEnd(folder, val_set, features, cfg, progress, log, towers)]
        callbacks += [tensorboard_callback(folder)] if run.tensorboard else []
        _fit(model, batches, cfg, progress.next_epoch, callbacks, verbose, folder, inputs)
    else:  # resumed with no epoch left (killed after the last): the curves as the histories are
        plot_training_curves(folder)
    rule = progress.rule
    best_key = "best_val_map" if cfg.val_metric == "map" else f"best_val_{cfg.val_metric}"
    summary = dict(config=cfg.name, best_epoch=rule.best_epoch, **{best_key: rule.best}, seed=progress.seed,
                   epochs_run=len(progress.val_history), dropped_train_sentences=inputs.dropped,
                   dropped_val_sentences=inputs.val_dropped, run={**asdict(run), "seed": progress.seed})
    write_text(os.path.join(folder, layout.SUMMARY_FILE), json.dumps(summary, indent=1) + "\n")
    write_text(os.path.join(folder, layout.MODEL_FILE), model.to_json())  # written last: it marks the run as done
    os.remove(os.path.join(folder, layout.RESUME_FILE))
    log(f"best epoch {rule.best_epoch}: val {VAL_NAMES[cfg.val_metric]} {rule.best:.4f} -> {folder}")
    return folder


def _forget_former_run(folder):
    """A run starting afresh where one was (overwriting it): that run is no longer done, and its resume state is not
    this run's (a kill in the first epoch left it, and the same command without --overwrite resumed it under this
    run's record)."""
    for done in (layout.MODEL_FILE, layout.RESUME_FILE, layout.SUMMARY_FILE):
        if os.path.isfile(os.path.join(folder, done)):
            os.remove(os.path.join(folder, done))


def _fit(model, batches, cfg, first_epoch, callbacks, verbose, folder, inputs):
    """``model.fit`` from ``first_epoch``; an epoch whose loss is not a number stops it in one line naming the
    input that is not (``non_finite_cause``)."""
    try:
        # shuffle=False: the batches shuffle themselves, seeded by epoch; Keras's batch-order shuffle
        # would draw from the global RNG and break exact resumption
        model.fit(batches, epochs=cfg.max_epochs, initial_epoch=first_epoch, verbose=verbose, shuffle=False,
                  callbacks=callbacks)
    except NonFiniteLoss as e:
        epoch, loss = e.args
        raise InputError(f"{folder}: epoch {epoch}: the training loss is {loss}: {non_finite_cause(inputs)}; "
                         f"training stops, the run unfinished (fix the cause, then train it again with "
                         f"--overwrite 1)") from None


def build_and_compile(cfg, encoder, feature_dim, seed, image_towers_from=None):
    """(the model training fits, None) for W2VV; (its two towers' training model, the towers: a
    ``common_space.CommonSpaceModels``) for a successor, whose image tower takes ``feature_dim``. The
    embedding initialised from word2vec (``encoder.embedding_matrix``, drawn from ``seed``).
    ``image_towers_from``: the English model's best weights, whose image tower(s) a successor's
    query-language model takes, frozen (w2vv.pivot_space)."""
    embedding = encoder.embedding_matrix(np.random.default_rng(seed))
    if cfg.family == "w2vv":
        model = build_model(cfg, encoder.seq_vocab_size, encoder.aux_dim, embedding)
        compile_for_training(model, cfg)
        return model, None
    from . import common_space
    towers = common_space.build_common_space(cfg, encoder.seq_vocab_size + 1, encoder.bow_dim, encoder.word2vec.dim,
                                             feature_dim, embedding)
    if image_towers_from:
        common_space.take_image_towers(towers, image_towers_from)
    compile_for_training(towers.train, cfg)
    return towers.train, towers


def new_rule(cfg):
    """The rule a new run starts with: W2VV's (``PlateauRule``) or, ``lr_schedule`` 'torch1.2' or
    'torch1.4', the successors' (w2vv.torch_schedule)."""
    if cfg.lr_schedule == "w2vv":
        return PlateauRule(cfg.lr, cfg.patience, cfg.lr_decay_wait)
    return TorchPlateauRule.of_config(cfg)


def _write_model_description(model, cfg, encoder, folder, log, feature_dim):
    if cfg.family == "w2vv":
        checkpoint.save_model_config(folder, cfg, encoder.seq_vocab_size, encoder.aux_dim)
    else:  # the towers' input widths besides (common_space.build_common_space)
        checkpoint.save_model_config(folder, cfg, encoder.seq_vocab_size, encoder.aux_dim,
                                     bow_dim=encoder.bow_dim, feature_dim=feature_dim)
    try:
        keras.utils.plot_model(model, to_file=os.path.join(folder, layout.MODEL_PICTURE), show_shapes=True)
    except (ImportError, OSError) as e:  # pydot needs Graphviz's `dot` program
        log(f"model.png not drawn ({str(e).splitlines()[0]})")
