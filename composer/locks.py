"""An exclusive lock held by this process for as long as a piece of work runs (flock on a file).

The kernel releases it when the process ends, however it ends, so a killed run never leaves a stale
lock behind. The file keeps the holder's pid, to name it in the refusal.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from composer.errors import WeeklyError


@contextmanager
def exclusive(lock_path: Path, refusal: str) -> Iterator[None]:
    """Hold `lock_path`; if another process holds it, WeeklyError(`refusal` with its pid in place of {pid})."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 (held open for the whole `with` block below)
    except OSError as err:
        raise WeeklyError(f"{lock_path}: cannot create the lock file: {err.strerror or err}") from err
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            handle.seek(0)
            raise WeeklyError(refusal.format(pid=handle.read().strip() or "unknown")) from err
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
