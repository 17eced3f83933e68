"""Ctrl-C in a script of this project: one line and exit status 130, never a traceback, also where ``cli.run`` does
not reach: while the script imports its modules (TensorFlow takes seconds), and after its work, in Python's teardown
(an atexit callback interrupted printed a traceback and exited 0: do_all.sh went on to the next stage)."""
import contextlib
import os
import signal
import sys

LINE = "interrupted: what was written is whole; the same command again redoes what is missing"


def guard_script():
    """Ctrl-C exits at once with ``LINE`` (``_exit_at_once``), where Python's own handler is installed (a process that
    ignores SIGINT, a background job, goes on ignoring it)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _exit_at_once)


def _exit_at_once(signum, frame):
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    print(LINE, file=sys.stderr, flush=True)
    os._exit(130)


@contextlib.contextmanager
def raising():
    """Within it, Ctrl-C raises KeyboardInterrupt, for ``cli.run`` to stop the work cleanly with its line; the guard of
    ``guard_script``, where it was installed, again after."""
    guarded = signal.getsignal(signal.SIGINT) is _exit_at_once
    if guarded:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if guarded:
            signal.signal(signal.SIGINT, _exit_at_once)
