"""The three sentence encodings of text_style ``gru@bow_filterstop@word2vec_filterstop``
(docs/method.md#the-three-sentence-encodings).

1. word-index sequence for the GRU, in one of two styles (``sequence_style``, chosen by the model's
   family in one place, ``sequence_style(cfg)``):

   - ``w2vv`` (W2VV): plain tokens through the ``bow`` vocabulary (1..V, 0 = padding), unknown words
     dropped, cut to the first ``maxlen``, zeros padded in front;
   - ``start_end`` (W2VV++ and SEA, as their published ``IndexVec``): ``<start>``, the plain tokens
     (stop words kept), ``<end>``, through the same words with ``<pad>`` 0, ``<start>`` 1, ``<end>`` 2,
     ``<unk>`` 3 first (the words from 4 on; an unknown word becomes ``<unk>``), zeros padded
     behind; ``maxlen`` 0 cuts nothing (else the first ``maxlen`` tokens are kept);
2. bag of words: counts over the ``bow_filterstop`` vocabulary of the content tokens;
3. mean word2vec of the content tokens that word2vec knows, in one of two ways (``mean_word2vec``, also
   the family's, ``mean_word2vec_of(cfg)``): ``occurrences`` (W2VV: a word said twice counts twice) or
   ``words`` (W2VV++ and SEA: each word once, as their published ``W2Vec`` reads the vectors of the set of
   the words).

Sentences are encoded once into compact arrays: the index sequences densely, the bag of
words and the mean word2vec as sparse matrices (the latter over a small table holding
only the word2vec vectors of words that occur), so 600K sentences fit in memory and a
batch's auxiliary input ``concat(bow, mean_w2v)`` is built in O(batch)."""
import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


SEQUENCE_STYLES = ("w2vv", "start_end")
SPECIAL_TOKENS = ("<pad>", "<start>", "<end>", "<unk>")  # start_end: indices 0, 1, 2, 3
START, END, UNK = 1, 2, 3
FIRST_WORD = {"w2vv": 1, "start_end": len(SPECIAL_TOKENS)}  # the index of a style's first vocabulary word
WIDTH_STEP = 8  # start_end batches are cut to their longest sentence rounded up to this (few shapes to trace)


def sequence_style(cfg):
    """The word-index style of a model config: W2VV's, or its successors' (``family`` 'w2vvpp', 'sea')."""
    return "w2vv" if getattr(cfg, "family", "w2vv") == "w2vv" else "start_end"


MEAN_WORD2VEC = ("occurrences", "words")


def mean_word2vec_of(cfg):
    """What the mean word2vec of a model config averages over: W2VV's every occurrence of a known content
    word, or its successors' each such word once."""
    return "occurrences" if getattr(cfg, "family", "w2vv") == "w2vv" else "words"


@dataclass
class EncodedSentences:
    ids: list
    sequences: np.ndarray        # (n, maxlen) int32 (start_end: right-padded to the longest sentence)
    bow: sp.csr_matrix           # (n, bow vocab size) counts
    w2v_weights: sp.csr_matrix   # (n, table rows): 1/k for each of a sentence's k known content words
    w2v_table: np.ndarray        # (table rows, dim) float32
    style: str = "w2vv"          # the sequences' SEQUENCE_STYLES

    def __len__(self):
        return len(self.ids)

    @functools.cached_property
    def _w2v_table64(self):
        """The table as float64, kept: scipy would convert it for every batch (most of a batch's time)."""
        return self.w2v_table.astype(np.float64)

    @property
    def empty_parts(self):
        """(n, 3) bool: which of sequence, bag of words, mean word2vec has no known word (a start_end
        sequence of ``<start>``, ``<unk>``… and ``<end>`` only has none)."""
        known_word = (self.sequences >= FIRST_WORD[self.style]).any(axis=1)
        return np.stack([~known_word, np.diff(self.bow.indptr) == 0,
                         np.diff(self.w2v_weights.indptr) == 0], axis=1)

    @property
    def complete(self):
        """Sentences with all three parts non-empty: training and validation keep only these."""
        return ~self.empty_parts.any(axis=1)

    def aux(self, rows=None):
        """The auxiliary input ``concat(bow, mean_w2v)`` of the given rows (None: all), float32, dense."""
        bow, w2v_weights = self.bow, self.w2v_weights
        if rows is not None:
            rows = np.asarray(rows)
            bow, w2v_weights = bow[rows], w2v_weights[rows]
        mean_w2v = np.asarray(w2v_weights @ self._w2v_table64, dtype=np.float32)
        return np.concatenate([bow.toarray().astype(np.float32), mean_w2v], axis=1)

    def inputs(self, rows=None):
        """The model's two inputs for the given rows (None: all). start_end sequences are cut behind the
        rows' longest (rounded up to ``WIDTH_STEP`` columns): the padding steps change nothing (masked),
        as the published code pads a batch to its longest sentence."""
        sequences = self.sequences if rows is None else self.sequences[np.asarray(rows)]
        if self.style == "start_end" and len(sequences):
            longest = int((sequences != 0).sum(axis=1).max())
            width = WIDTH_STEP * ((longest + WIDTH_STEP - 1) // WIDTH_STEP)
            sequences = sequences[:, :width]
        return sequences, self.aux(rows)

    def save(self, file):
        np.savez(file, ids=np.array(self.ids), sequences=self.sequences, w2v_table=self.w2v_table,
                 style=np.array(self.style), **_csr_arrays("bow", self.bow),
                 **_csr_arrays("w2v_weights", self.w2v_weights))

    @classmethod
    def load(cls, path):
        with np.load(path) as d:
            style = str(d["style"]) if "style" in d.files else "w2vv"  # cached before styles were: W2VV's
            return cls(d["ids"].tolist(), d["sequences"], _csr_from(d, "bow"), _csr_from(d, "w2v_weights"),
                       d["w2v_table"], style)

    def subset(self, rows):
        rows = np.asarray(rows)
        return EncodedSentences([self.ids[i] for i in rows], self.sequences[rows], self.bow[rows],
                                self.w2v_weights[rows], self.w2v_table, self.style)


def _csr_arrays(name, m):
    return {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr,
            f"{name}_shape": np.array(m.shape)}


def _csr_from(d, name):
    return sp.csr_matrix((d[f"{name}_data"], d[f"{name}_indices"], d[f"{name}_indptr"]),
                         shape=tuple(d[f"{name}_shape"]))


def _csr_rows(row_columns, row_values, n_columns, dtype):
    """The sparse matrix whose row i holds ``row_values[i]`` at each column of ``row_columns[i]``, a
    column named twice holding the sum: scipy's canonical form (columns sorted, duplicates added one
    after the other, as its COO conversion does), built directly: the conversion costs 0.2 ms a
    matrix, most of a one-sentence query's encoding."""
    indptr, indices, data = [0], [], []
    for columns, value in zip(row_columns, row_values):
        summed = {}
        for c in columns:
            summed[c] = summed[c] + value if c in summed else value
        for c in sorted(summed):
            indices.append(c)
            data.append(summed[c])
        indptr.append(len(indices))
    return sp.csr_matrix((np.array(data, dtype), np.array(indices, np.int32), np.array(indptr, np.int32)),
                         shape=(len(row_columns), n_columns))


def pad_sequences_pre(index_lists, maxlen):
    """Keras ``pad_sequences`` defaults: keep the first ``maxlen`` (truncating 'post'), pad in front."""
    out = np.zeros((len(index_lists), maxlen), np.int32)
    for i, idx in enumerate(index_lists):
        idx = idx[:maxlen]
        if idx:
            out[i, maxlen - len(idx):] = idx
    return out


def pad_sequences_post(index_lists):
    """Right-padded with 0 to the longest list (at least one column)."""
    out = np.zeros((len(index_lists), max([1, *map(len, index_lists)])), np.int32)
    for i, idx in enumerate(index_lists):
        out[i, :len(idx)] = idx
    return out


class SentenceEncoder:
    """Turns sentences of one language into the model's inputs. Made by ``run_inputs.make_encoder``, it
    also says what it read (``inputs``: the language, stop-word list and word2vec; ``sources``: the files
    its encodings depend on) and where its encodings are cached (``cache_dir``). ``sequence_style``:
    one of ``SEQUENCE_STYLES``, ``mean_word2vec`` one of ``MEAN_WORD2VEC`` (the module's docstring)."""

    def __init__(self, tokenizer, seq_vocab, bow_vocab, word2vec, maxlen=32, inputs=None, sources=(),
                 cache_dir=None, sequence_style="w2vv", mean_word2vec="occurrences"):
        if sequence_style not in SEQUENCE_STYLES:
            raise ValueError(f"sequence_style {sequence_style!r} unknown (expected one of {SEQUENCE_STYLES})")
        if mean_word2vec not in MEAN_WORD2VEC:
            raise ValueError(f"mean_word2vec {mean_word2vec!r} unknown (expected one of {MEAN_WORD2VEC})")
        self.mean_word2vec = mean_word2vec
        self.tokenizer = tokenizer
        self.sequence_style = sequence_style
        if sequence_style == "w2vv":
            self.seq_index = {w: i + 1 for i, w in enumerate(seq_vocab)}
        else:  # <pad> is 0 (not in the index, as W2VV's padding); a word spelt as a special token is that token
            self.seq_index = {w: i for i, w in enumerate(SPECIAL_TOKENS) if i}
            for w in seq_vocab:
                self.seq_index.setdefault(w, len(self.seq_index) + 1)
        self.bow_index = {w: i for i, w in enumerate(bow_vocab)}
        self.word2vec = word2vec
        self.maxlen = maxlen
        self.inputs = inputs
        self.sources = list(sources)
        self.cache_dir = cache_dir

    @property
    def seq_vocab_size(self):
        """The GRU vocabulary without padding (start_end: ``<start>``, ``<end>``, ``<unk>`` included);
        the embedding has one row more."""
        return len(self.seq_index)

    @property
    def bow_dim(self):
        return len(self.bow_index)

    @property
    def aux_dim(self):
        return len(self.bow_index) + self.word2vec.dim

    def encode(self, id_sentence_pairs):
        ids, index_lists, content = [], [], []
        for sent_id, sentence in id_sentence_pairs:
            ids.append(sent_id)
            index_lists.append(self._indices(self.tokenizer.tokens(sentence)))
            content.append(self.tokenizer.content_tokens(sentence))
        sequences = (pad_sequences_pre(index_lists, self.maxlen) if self.sequence_style == "w2vv"
                     else pad_sequences_post(index_lists))
        return EncodedSentences(ids, sequences, self._bow(content), *self._mean_w2v(content), self.sequence_style)

    def _indices(self, tokens):
        index = self.seq_index
        if self.sequence_style == "w2vv":
            return [index[w] for w in tokens if w in index]
        return [START, *(index.get(w, UNK) for w in tokens[:self.maxlen or None]), END]

    def _bow(self, content):
        index = self.bow_index
        return _csr_rows([[index[w] for w in words if w in index] for words in content], [1.0] * len(content),
                         len(index), np.float32)  # a word's count: 1 summed as often as it occurs

    def _mean_w2v(self, content):
        vocabulary = list(dict.fromkeys(w for words in content for w in words))
        table, known = self.word2vec.lookup(vocabulary)
        table_row = {w: r for r, w in enumerate(w for w, k in zip(vocabulary, known) if k)}
        if self.mean_word2vec == "words":
            content = [dict.fromkeys(words) for words in content]
        hits = [[table_row[w] for w in words if w in table_row] for words in content]
        weights = _csr_rows(hits, [1.0 / len(h) if h else 0.0 for h in hits], len(table_row), np.float64)
        return weights, table[known]

    def embedding_matrix(self, rng):
        """(V+1, dim) initial embedding: word2vec rows, uniform(-1, 1) for words word2vec lacks; row 0
        zeros (W2VV), or, start_end, every row so, the special tokens' too, as the published ``get_we``
        (``<pad>``'s row is never read: its steps are masked)."""
        start_end = self.sequence_style == "start_end"
        words = [SPECIAL_TOKENS[0], *self.seq_index] if start_end else list(self.seq_index)
        vectors, known = self.word2vec.lookup(words)
        random_rows = rng.uniform(-1, 1, size=(len(words), self.word2vec.dim)).astype(np.float32)
        rows = np.where(known[:, None], vectors, random_rows)
        if start_end:
            return rows
        matrix = np.zeros((len(words) + 1, self.word2vec.dim), np.float32)
        matrix[1:] = rows
        return matrix
