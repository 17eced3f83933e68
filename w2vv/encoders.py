"""The three sentence encodings of text_style ``gru@bow_filterstop@word2vec_filterstop``
(docs/method.md#the-three-sentence-encodings).

1. word-index sequence for the GRU: plain tokens through the ``bow`` vocabulary (1..V,
   0 = padding), unknown words dropped, cut to the first ``maxlen``, zeros padded in front;
2. bag of words: counts over the ``bow_filterstop`` vocabulary of the content tokens;
3. mean word2vec of the content tokens that word2vec knows.

Sentences are encoded once into compact arrays: the index sequences densely, the bag of
words and the mean word2vec as sparse matrices (the latter over a small table holding
only the word2vec vectors of words that occur), so 600K sentences fit in memory and a
batch's auxiliary input ``concat(bow, mean_w2v)`` is built in O(batch)."""
import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class EncodedSentences:
    ids: list
    sequences: np.ndarray        # (n, maxlen) int32
    bow: sp.csr_matrix           # (n, bow vocab size) counts
    w2v_weights: sp.csr_matrix   # (n, table rows): 1/k for each of a sentence's k known content words
    w2v_table: np.ndarray        # (table rows, dim) float32

    def __len__(self):
        return len(self.ids)

    @functools.cached_property
    def _w2v_table64(self):
        """The table as float64, kept: scipy would convert it for every batch (most of a batch's time)."""
        return self.w2v_table.astype(np.float64)

    @property
    def empty_parts(self):
        """(n, 3) bool: which of sequence, bag of words, mean word2vec has no known word."""
        return np.stack([~self.sequences.any(axis=1), np.diff(self.bow.indptr) == 0,
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
        """The model's two inputs for the given rows (None: all)."""
        return (self.sequences if rows is None else self.sequences[np.asarray(rows)]), self.aux(rows)

    def save(self, file):
        np.savez(file, ids=np.array(self.ids), sequences=self.sequences, w2v_table=self.w2v_table,
                 **_csr_arrays("bow", self.bow), **_csr_arrays("w2v_weights", self.w2v_weights))

    @classmethod
    def load(cls, path):
        with np.load(path) as d:
            return cls(d["ids"].tolist(), d["sequences"], _csr_from(d, "bow"), _csr_from(d, "w2v_weights"),
                       d["w2v_table"])

    def subset(self, rows):
        rows = np.asarray(rows)
        return EncodedSentences([self.ids[i] for i in rows], self.sequences[rows], self.bow[rows],
                                self.w2v_weights[rows], self.w2v_table)


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


class SentenceEncoder:
    """Turns sentences of one language into the model's inputs. Made by ``run_inputs.make_encoder``, it
    also says what it read (``inputs``: the language, stop-word list and word2vec; ``sources``: the files
    its encodings depend on) and where its encodings are cached (``cache_dir``)."""

    def __init__(self, tokenizer, seq_vocab, bow_vocab, word2vec, maxlen=32, inputs=None, sources=(),
                 cache_dir=None):
        self.tokenizer = tokenizer
        self.seq_index = {w: i + 1 for i, w in enumerate(seq_vocab)}
        self.bow_index = {w: i for i, w in enumerate(bow_vocab)}
        self.word2vec = word2vec
        self.maxlen = maxlen
        self.inputs = inputs
        self.sources = list(sources)
        self.cache_dir = cache_dir

    @property
    def seq_vocab_size(self):
        return len(self.seq_index)

    @property
    def aux_dim(self):
        return len(self.bow_index) + self.word2vec.dim

    def encode(self, id_sentence_pairs):
        ids, index_lists, content = [], [], []
        for sent_id, sentence in id_sentence_pairs:
            ids.append(sent_id)
            index_lists.append([self.seq_index[w] for w in self.tokenizer.tokens(sentence) if w in self.seq_index])
            content.append(self.tokenizer.content_tokens(sentence))
        return EncodedSentences(ids, pad_sequences_pre(index_lists, self.maxlen), self._bow(content),
                                *self._mean_w2v(content))

    def _bow(self, content):
        index = self.bow_index
        return _csr_rows([[index[w] for w in words if w in index] for words in content], [1.0] * len(content),
                         len(index), np.float32)  # a word's count: 1 summed as often as it occurs

    def _mean_w2v(self, content):
        vocabulary = list(dict.fromkeys(w for words in content for w in words))
        table, known = self.word2vec.lookup(vocabulary)
        table_row = {w: r for r, w in enumerate(w for w, k in zip(vocabulary, known) if k)}
        hits = [[table_row[w] for w in words if w in table_row] for words in content]
        weights = _csr_rows(hits, [1.0 / len(h) if h else 0.0 for h in hits], len(table_row), np.float64)
        return weights, table[known]

    def embedding_matrix(self, rng):
        """(V+1, dim) initial embedding: word2vec rows, uniform(-1, 1) for words word2vec lacks, row 0 zeros."""
        words = list(self.seq_index)
        vectors, known = self.word2vec.lookup(words)
        random_rows = rng.uniform(-1, 1, size=(len(words), self.word2vec.dim)).astype(np.float32)
        matrix = np.zeros((len(words) + 1, self.word2vec.dim), np.float32)
        matrix[1:] = np.where(known[:, None], vectors, random_rows)
        return matrix
