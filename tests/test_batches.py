"""Training batches: every sentence once per epoch, a new order every epoch, ctl negatives
from outside the batch, an image as often as it has training sentences (the original's rule,
drawn in O(batch) instead of a scan of all sentences)."""
from types import SimpleNamespace

import numpy as np

from w2vv.batches import TrainingBatches, sample_negatives


class Sentences:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def inputs(self, rows):
        return np.asarray(rows)[:, None].repeat(3, 1), np.zeros((len(rows), 2), np.float32)


class Features:
    def read_rows(self, rows):
        return np.asarray(rows, np.float32)[:, None].repeat(4, 1)  # a feature says which image it is


def batches(loss, n=50, images=20, batch=8, start_epoch=0):
    cfg = SimpleNamespace(loss_fun=loss, L1_normalize=0, L2_normalize=0)
    collection = SimpleNamespace(sentences=Sentences(n), sentence_images=np.arange(n) % images)
    return TrainingBatches(collection, Features(), cfg, batch, seed=3, start_epoch=start_epoch)


def epoch_rows(ds):
    ds.on_epoch_begin()
    return np.concatenate([ds[i][0][0][:, 0] for i in range(len(ds))])


def test_every_sentence_once_per_epoch_in_a_new_order():
    ds = batches("mse")
    first, second = epoch_rows(ds), epoch_rows(ds)
    assert sorted(first) == list(range(50)) == sorted(second)
    assert not np.array_equal(first, second)
    (seq, _), y = ds[0]
    np.testing.assert_array_equal(y[:, 0], seq[:, 0] % 20)  # each row's target is its own image


def test_ctl_rows_positives_then_negatives_from_outside_the_batch():
    ds = batches("ctl")
    ds.on_epoch_begin()
    for i in range(len(ds)):
        (seq, _), y = ds[i]
        k = len(seq) // 2
        np.testing.assert_array_equal(seq[:k], seq[k:])
        np.testing.assert_array_equal(y[:k, -1], 1)
        np.testing.assert_array_equal(y[k:, -1], 0)
        batch_images = set((seq[:k, 0] % 20).tolist())
        np.testing.assert_array_equal(y[:k, 0], seq[:k, 0] % 20)
        assert not batch_images & set(y[k:, 0].astype(int).tolist())


def test_a_batch_is_the_same_whatever_the_fetch_order_and_on_resume():
    ds, resumed = batches("ctl"), batches("ctl", start_epoch=2)
    for _ in range(3):
        ds.on_epoch_begin()
    resumed.on_epoch_begin()
    backwards = [resumed[i] for i in reversed(range(len(resumed)))][::-1]
    for i, (x, y) in enumerate(backwards):
        np.testing.assert_array_equal(ds[i][1], y)


def test_negatives_are_drawn_as_the_original_drew_them_from_the_sentences_outside_the_batch():
    """``random.choice([img for img in self.imgs if img not in img_list])``, ``self.imgs`` the image of each
    training sentence: an image in proportion to its sentences, none of the batch's."""
    rng = np.random.default_rng(0)
    sentence_images = np.repeat(np.arange(10), [1, 1, 1, 1, 1, 1, 1, 1, 2, 5])  # 15 sentences, 10 images
    draws = sample_negatives(rng, sentence_images, {0, 1}, 130_000)
    counts = np.bincount(draws, minlength=10)
    assert counts[:2].sum() == 0
    expected = np.array([0, 0, 1, 1, 1, 1, 1, 1, 2, 5]) / 13
    assert np.all(np.abs(counts / 130_000 - expected) < 0.006)


def test_ctl_on_fewer_images_than_a_batch_has_sentences_is_one_clear_error():
    import pytest
    from w2vv.errors import InputError
    with pytest.raises(InputError, match="8 training images: loss ctl draws each batch's negatives"):
        batches("ctl", n=50, images=8, batch=10)
    batches("mse", n=50, images=8, batch=10)  # mse draws no negatives
