"""What every command-line script shares: the error contract and progress logging.

Bad input (``InputError``) prints one line, ``error: <file>[:<line>]: <what>``, and exits 1;
the traceback only with ``--debug``."""
import os
import sys
import time

from .errors import InputError


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run(main, argv=None):
    """Call ``main(argv)``; turn an InputError into a one-line message and exit status 1."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return main(argv) or 0
    except InputError as e:
        if "--debug" in argv:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
