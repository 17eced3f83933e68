"""Reading a UTF-8 text file, with the project's one-line errors (``w2vv.errors``)."""
from .errors import InputError

# UTF-8, and a byte-order mark that opens a file (as some editors write it) is not part of its first line
UTF8 = "utf-8-sig"


def read_lines(path, what, missing_hint=""):
    """The lines of a UTF-8 text file, without a byte-order mark or their line ends (``\\n``, ``\\r\\n`` or ``\\r``);
    InputError naming the file and ``what`` it is when it is missing or not UTF-8 text."""
    try:
        with open(path, encoding=UTF8) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found{missing_hint}") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: {what} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if lines[-1] == "":
        lines.pop()
    return lines
