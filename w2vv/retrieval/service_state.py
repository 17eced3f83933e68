"""What the service serves (``State``: nothing until the models, the gallery and its pictures are
loaded) and how ``serve.py`` gets it ready: the pictures found, what the health check reports, every
route run once."""
import os
import time

from ..errors import InputError
from ..languages import LANGUAGES
from .pictures import Pictures, picture_folders


class State:
    """What the service serves: nothing until ``ready`` (the health check answers ``loading``)."""

    def __init__(self):
        self.searcher = self.pictures = None
        self.phase = "starting"
        self.started = time.monotonic()
        self.ready_seconds = None
        self.info = {}

    @property
    def ready(self):
        return self.ready_seconds is not None

    def set_ready(self, searcher, pictures, info=None):
        self.searcher, self.pictures, self.info = searcher, pictures, dict(info or {})
        self.ready_seconds = time.monotonic() - self.started
        self.phase = "ready"


def find_pictures(searcher, images=(), collection=None):
    """The ``Pictures`` of the searcher's gallery: in the folders ``images`` named, then in
    ``ImageData/`` of the collections of the root (``w2vv.retrieval.pictures``)."""
    return Pictures(searcher.gallery.ids, picture_folders(searcher.root, searcher.gallery_dir, images, collection,
                                                          getattr(searcher, "imageset", None)))


def service_info(searcher):
    """What the health check reports of the loaded searcher: the models (relative to the root) and
    their family ('w2vv', 'w2vvpp', 'sea'), the gallery, and the version."""
    def relative(path):
        path = os.path.abspath(str(path))
        root = os.path.abspath(searcher.root)
        return os.path.relpath(path, root) if path.startswith(root + os.sep) else os.path.basename(path)
    return dict(version=version(), models={lang: relative(m.folder) for lang, m in sorted(searcher.models.items())},
                family=getattr(searcher, "family", "w2vv"),
                gallery=relative(searcher.gallery_dir),
                imageset=relative(searcher.imageset) if getattr(searcher, "imageset", None) else None)


def version():
    """The project's commit (``git describe``), or ``unknown`` outside a git checkout."""
    import subprocess
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)), timeout=5)
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def warm_up(searcher):
    """Run every route each loaded language can take once, so that the first request is not slower:
    jieba's dictionary, the model's traced function, the English sentences of the CL route (read
    from their cache or predicted) and the fusion weight. InputError when the default route of a
    language fails: the service would answer its every query with an error."""
    for lang in searcher.languages:
        modes = ["cm"] + ([] if lang == "en" or "en" not in searcher.languages else ["cl"])
        if lang in getattr(searcher, "space_problems", {}):  # not in the English space (the searcher said so)
            modes = ["cm"]
        default = searcher.default_mode(lang)
        if default == "clm":
            modes.append("clm")
        for mode in modes:
            for batch in ([LANGUAGES[lang].example] * 2, [LANGUAGES[lang].example]):
                record = searcher.search_many(batch, k=1, lang=lang, mode=mode)[0]
                if record.error and getattr(searcher, "cl_problem", None):  # the searcher said so
                    break
                if record.error and not record.warning and mode == default:
                    raise InputError(f"{lang} queries: their default route {mode} fails: {record.error}")
            if getattr(searcher, "cl_problem", None):
                break
