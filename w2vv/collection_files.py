"""A collection's text files (docs/method.md#data-layout): its caption file (``<image id>#<n> <sentence>`` a line)
and its ImageSets list, read with a one-line error naming the line at fault, and the checks that a run's val and
test images are held out from its training sentences and from each other."""
import os

from . import layout
from .errors import InputError
from .layout import caption_file, imageset_file
from .textfile import read_lines


def _require_file(path, what):
    """InputError when ``path`` (``<root>/<collection>/<folder>/<file>``, or a file given elsewhere) is not a file,
    naming the collection folder when that is missing."""
    if os.path.isfile(path):
        return
    collection = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if not os.path.isdir(collection):
        raise InputError(f"{collection}: collection folder not found (check --rootpath and the collection name)")
    raise InputError(f"{path}: {what} not found")


CAPTION_LINE = "'<image id>#<n> <sentence>'"   # a caption file's line, e.g. 'COCO_val2014_000000217153#0 a dog …'


def _is_sentence_id(sent_id):
    """``<image id>#<n>``: an image id (not empty) before the first ``#``."""
    image, sep, _ = sent_id.partition("#")
    return bool(image and sep)


def _caption_line_error(path, lineno, sent_id):
    """The InputError of a caption line that is not ``<image id>#<n> <sentence>``, its id ``sent_id``."""
    if not sent_id.isprintable():  # a tab, another space than ' ', or a control character
        problem = f"{sent_id!r} holds a tab or another invisible character: separate the id from the sentence by " \
                  "one space"
    elif not _is_sentence_id(sent_id):
        problem = f"it starts with {sent_id!r}, not a sentence id '<image id>#<n>'"
    else:
        return InputError(f"{path}:{lineno}: caption line has an id but no sentence (add it, or delete the line)")
    return InputError(f"{path}:{lineno}: malformed caption line: {problem} (a line is {CAPTION_LINE}: correct or "
                      "delete it)")


def read_captions(path):
    """[(sent_id, sentence), …] from a caption file: ``<image id>#<n> <sentence>`` a line, every
    sentence id once (blank lines skipped); InputError naming the first line that is not so."""
    _require_file(path, "caption file")
    pairs, first_line = [], {}
    for lineno, line in enumerate(read_lines(path, "caption file"), 1):
        if not line.strip():
            continue
        sent_id, _, sentence = line.lstrip().partition(" ")
        if not _is_sentence_id(sent_id) or not sent_id.isprintable() or not sentence.strip():
            raise _caption_line_error(path, lineno, sent_id)
        if "\r" in sentence and any(_is_sentence_id(piece.lstrip().partition(" ")[0])
                                    for piece in sentence.split("\r")[1:]):
            raise InputError(f"{path}:{lineno}: a carriage return (\\r) followed by a sentence id: the file's lines "
                             f"end in \\r alone; convert its line ends to \\n (e.g. tr '\\r' '\\n')")
        if first_line.setdefault(sent_id, lineno) != lineno:
            raise InputError(f"{path}:{lineno}: sentence id {sent_id!r} repeated (first at line {first_line[sent_id]})")
        pairs.append((sent_id, sentence))
    if not pairs:
        raise InputError(f"{path}: caption file is empty")
    return pairs


def read_imageset(path):
    """The image ids of an ImageSets file (white space separates them), each once: an image listed twice
    would be ranked twice (the original reads them as a set); InputError naming the line that repeats one."""
    _require_file(path, "ImageSets file")
    ids, first_line = [], {}
    for lineno, line in enumerate(read_lines(path, "ImageSets file"), 1):
        for image_id in line.split():
            if image_id in first_line:
                raise InputError(f"{path}:{lineno}: image id {image_id!r} repeated (first at line "
                                 f"{first_line[image_id]})")
            first_line[image_id] = lineno
            ids.append(image_id)
    if not ids:
        raise InputError(f"{path}: ImageSets file is empty")
    return ids


def require_held_out(root, train, val, tests):
    """InputError when the ImageSets of one of ``tests`` (a run's val and test collections, or a collection it is
    tested on) list images that sentences of ``train`` describe (``require_unseen``), or images of ``val`` (None:
    not known) besides val itself (``require_apart``)."""
    described = {layout.image_id(s) for s, _ in captions_of(root, train)}
    val_images = imageset_of(root, val) if val and os.path.isfile(imageset_file(root, val)) else []
    for test in tests:
        images = imageset_of(root, test)
        require_unseen(imageset_file(root, test), images, train, described)
        if test != val:
            require_apart(imageset_file(root, test), images, val, val_images)


def require_apart(imageset_path, image_set, val, val_images):
    """InputError when images of ``image_set`` (a test collection's) are among ``val_images``, those of the
    validation collection ``val``: the best epoch and the CLM weight chosen on them would flatter the test."""
    shared = sorted(set(val_images).intersection(image_set))
    if shared:
        raise InputError(f"{imageset_path}: {len(shared)} of its images are also in {val}, the validation collection "
                         f"(e.g. {shared[0]!r}): the best epoch and the CLM weight are chosen on it, so figures on "
                         f"them would flatter the model; keep val and test images apart")


def require_unseen(imageset_path, image_set, train, described):
    """InputError when images of ``image_set`` (read from ``imageset_path``) are among ``described``, the images
    the sentences of ``train`` describe: figures on images a model trained on flatter it."""
    seen = sorted(described.intersection(image_set))
    if seen:
        raise InputError(f"{imageset_path}: {len(seen)} of its images are described by sentences of {train}, the "
                         f"training collection (e.g. {seen[0]!r}): figures on images the model trained on would "
                         f"flatter it; validate and test on images it does not train on")


def captions_of(root, collection):
    return read_captions(caption_file(root, collection))


def imageset_of(root, collection):
    return read_imageset(imageset_file(root, collection))
