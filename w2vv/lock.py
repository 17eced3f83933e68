"""One run at a time: an exclusive ``fcntl.flock`` on a lock file. The kernel releases it when the
holder exits, however it ends (SIGKILL included), so a dead run never blocks the next one."""
import contextlib
import fcntl
import os
import time

from .errors import InputError


@contextlib.contextmanager
def exclusive(path, what, wait=False, log=print):
    """Hold the lock ``path`` for the block. Held by another process: InputError naming it and
    ``what`` it guards, or, with ``wait``, wait for it."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            if not wait:
                raise InputError(f"{path}: {what} is already running ({holder}); wait for it to end, "
                                 f"or pass --wait to start when it does") from None
            log(f"waiting for {what} ({holder}) to end")
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        yield
