"""Reading a UTF-8 text file, with the project's one-line errors (``w2vv.errors``), and splitting its lines
as the original did."""
import re

from .errors import InputError

# UTF-8, and a byte-order mark that opens a file (as some editors write it) is not part of its first line
UTF8 = "utf-8-sig"


def read_text(path, what, missing_hint=""):
    """The text of a UTF-8 file, without a byte-order mark that opens it; InputError naming the file and
    ``what`` it is when it is missing, a folder or unreadable, and the line when it is not UTF-8 text."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found{missing_hint}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: {what} expected, found a folder") from None
    except PermissionError:
        raise InputError(f"{path}: {what} not readable (permission denied)") from None
    try:
        return data.decode(UTF8)
    except UnicodeDecodeError as e:
        lineno = e.object.count(b"\n", 0, e.start) + 1
        raise InputError(f"{path}:{lineno}: {what} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_lines(path, what, missing_hint=""):
    """The lines of ``read_text``, without their line ends (``\\n`` or ``\\r\\n``).

    A ``\\r`` elsewhere stays in its line, as the original's Python 2 ``open`` kept it (its tokeniser then
    reads it as a space): universal newlines would cut a caption there."""
    lines = read_text(path, what, missing_hint).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


_ASCII_SPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")


def split_ascii(text):
    """``text`` split on ASCII white space only, as the original's Python 2 ``str.split()`` split its UTF-8
    bytes: a full-width space (U+3000) or a no-break space stays inside its word, where Python 3's
    ``str.split()`` would cut."""
    return [piece for piece in _ASCII_SPACE.split(text) if piece]
