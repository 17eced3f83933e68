"""Enhanced Word2VisualVec (W2VV) for cross-lingual image retrieval, on Python 3 / Keras 3."""

__all__ = ["Searcher"]


def __getattr__(name):
    # ``Searcher`` is imported on first use, so that ``import w2vv`` stays light (no TensorFlow).
    if name == "Searcher":
        from .retrieval.searcher import Searcher
        return Searcher
    raise AttributeError(f"module 'w2vv' has no attribute {name!r}")
