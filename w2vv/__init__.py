"""Enhanced Word2VisualVec (W2VV) for cross-lingual image retrieval, on Python 3 / Keras 3."""

import os as _os
import sys as _sys

__all__ = ["Searcher"]


def _run_as_a_script():
    """True in the process of one of the project's scripts (``trainer.py``…, beside this package), not where the
    package is a library of another program."""
    main = getattr(_sys.modules.get("__main__"), "__file__", None)
    here = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    return bool(main) and _os.path.dirname(_os.path.abspath(main)) == here


if _run_as_a_script():  # first of all the project's imports: Ctrl-C while the others load is one line too
    from .interrupts import guard_script
    guard_script()


def __getattr__(name):
    # ``Searcher`` is imported on first use, so that ``import w2vv`` stays light (no TensorFlow).
    if name == "Searcher":
        from .retrieval.searcher import Searcher
        return Searcher
    raise AttributeError(f"module 'w2vv' has no attribute {name!r}")
