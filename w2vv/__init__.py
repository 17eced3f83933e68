"""Enhanced Word2VisualVec (W2VV) for cross-lingual image retrieval, on Python 3 / Keras 3."""

import os as _os
import sys as _sys

__all__ = ["Searcher"]


SCRIPTS = ("build_vocab.py", "check_root.py", "compare.py", "convert_original.py", "cross_lingual.py",
           "download_data.py", "extract_features.py", "fuse.py", "plot_training.py", "report.py", "report_page.py",
           "search.py", "serve.py", "tester.py", "trainer.py")  # the project's scripts, beside this package


def _run_as_a_script():
    """True in the process of one of the project's ``SCRIPTS``, however reached (a link), not where the package is a
    library of another program (one of the user's own beside them included)."""
    main = getattr(_sys.modules.get("__main__"), "__file__", None)
    script = _os.path.realpath(main) if main else ""
    here = _os.path.dirname(_os.path.dirname(_os.path.realpath(__file__)))
    return _os.path.basename(script) in SCRIPTS and _os.path.dirname(script) == here


if _run_as_a_script():  # first of all the project's imports: Ctrl-C while the others load is one line too
    from .interrupts import guard_script
    guard_script()


def __getattr__(name):
    # ``Searcher`` is imported on first use, so that ``import w2vv`` stays light (no TensorFlow).
    if name == "Searcher":
        from .retrieval.searcher import Searcher
        return Searcher
    raise AttributeError(f"module 'w2vv' has no attribute {name!r}")
