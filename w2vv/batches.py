"""Training batches as a Keras ``PyDataset`` (docs/method.md#batches; ctl rows: docs/method.md#losses).

Sentences are shuffled at load and after every pass. A batch holds ``batch_size``
sentences; for ``ctl`` it has two rows per sentence: the sentence's own image (flag 1)
and a random image not in the batch (flag 0), drawn as the original drew it, from the
image of every training sentence outside the batch (an image with five sentences five
times as often as one with one), by rejection in O(batch) (the original rebuilt that
list of all other sentences' images, O(N), for every batch).

Every random draw comes from a generator seeded by (seed, epoch[, batch]), so a batch is
the same whatever order Keras's workers fetch batches in, and an interrupted run resumed
at epoch k sees exactly the batches the uninterrupted run saw."""
import math

import keras
import numpy as np

from .common_space import no_targets
from .encoders import WIDTH_STEP
from .feature_norm import normalize_features
from .losses import require_negatives, targets_of


def sample_negatives(rng, candidates, excluded, count):
    """``count`` draws, uniform over the entries of ``candidates`` (an image as often as it is listed) that are
    not in ``excluded``, a few images (``TrainingBatches`` makes sure some entry is not among them)."""
    excluded = np.asarray(list(excluded))
    out = rng.choice(candidates, size=count)
    bad = np.isin(out, excluded)
    while bad.any():
        out[bad] = rng.choice(candidates, size=int(bad.sum()))
        bad = np.isin(out, excluded)
    return out


class ShuffledSentences(keras.utils.PyDataset):
    """A collection's sentences in batches of ``batch_size``, shuffled by (seed, epoch) at load and after
    every pass (a resumed run sees the same batches), the last batch smaller."""

    def __init__(self, collection, features, cfg, batch_size, seed, start_epoch=0):
        super().__init__()
        self.sentences = collection.sentences
        self.sentence_images = collection.sentence_images
        self.features, self.cfg, self.batch_size, self.seed = features, cfg, batch_size, seed
        self.epoch = start_epoch - 1  # on_epoch_begin moves it to start_epoch
        self._shuffle(start_epoch)

    def __len__(self):
        return math.ceil(len(self.sentences) / self.batch_size)

    def _shuffle(self, epoch):
        self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.sentences))

    def on_epoch_begin(self):
        self.epoch += 1
        self._shuffle(self.epoch)

    def rows(self, index):
        return self.order[index * self.batch_size:(index + 1) * self.batch_size]


class TrainingBatches(ShuffledSentences):
    def __init__(self, collection, features, cfg, batch_size, seed, start_epoch=0):
        super().__init__(collection, features, cfg, batch_size, seed, start_epoch)
        self.candidate_images = collection.sentence_images  # each sentence's image, as the original's list
        require_negatives(cfg, len(np.unique(collection.sentence_images)), len(self.sentences), batch_size)

    def image_features(self, rows):
        return normalize_features(self.features.read_rows(rows), self.cfg)

    def __getitem__(self, index):
        rows = self.rows(index)
        sequences, aux = self.sentences.inputs(rows)
        images = self.sentence_images[rows]
        if targets_of(self.cfg) == "features":
            return (sequences, aux), self.image_features(images)
        rng = np.random.default_rng([self.seed, max(self.epoch, 0), index])
        negatives = sample_negatives(rng, self.candidate_images, set(images.tolist()), len(rows))
        targets = self.image_features(np.concatenate([images, negatives]))
        flags = np.concatenate([np.ones(len(rows)), np.zeros(len(rows))]).astype(np.float32)[:, None]
        x = (np.concatenate([sequences, sequences]), np.concatenate([aux, aux]))
        return x, np.concatenate([targets, flags], axis=1)


class PairBatches(ShuffledSentences):
    """The successors' batches (W2VV++, SEA; their published ``pair_provider``): ``batch_size`` (sentence,
    its image's feature) pairs, the sentences shuffled at load and after every pass, as ``TrainingBatches``
    shuffles (seeded by (seed, epoch): a resumed run sees the same batches), the last batch smaller. x is
    the word indices (cut to the batch's longest sentence, ``EncodedSentences.inputs``), the bag of words
    and mean word2vec, and the features; y a dummy the loss does not read (each sentence's image is the
    one of its row, every other row's image a negative).

    Batch 0 of every epoch is padded ``WIDTH_STEP`` columns past the collection's longest sentence (more
    padding changes nothing: it is masked): Keras gives TensorFlow the input signature of batches 0 and 1,
    and the width must differ between them to be left free, as the batches' widths do."""

    def __init__(self, collection, features, cfg, batch_size, seed, start_epoch=0):
        super().__init__(collection, features, cfg, batch_size, seed, start_epoch)
        self.first_width = self.sentences.sequences.shape[1] + WIDTH_STEP

    def __getitem__(self, index):
        rows = self.rows(index)
        sequences, aux = self.sentences.inputs(rows)
        if index == 0:
            sequences = np.pad(sequences, ((0, 0), (0, self.first_width - sequences.shape[1])))
        images = normalize_features(self.features.read_rows(self.sentence_images[rows]), self.cfg)
        return (sequences, aux, images), no_targets(len(rows))
