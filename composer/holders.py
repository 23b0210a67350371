"""Who holds a lock, as its refusals name it: "pid 4242 on host, since 2026-12-04 07:00:02".

A holder names itself just after the lock is taken, so a process refused in between would find no name
yet; `name_of` waits for it a moment (a second at most) before saying "another process".
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import datetime

WAIT_FOR_NAME_SECONDS = 1.0


def this_process() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}, since {datetime.now():%Y-%m-%d %H:%M:%S}"


def name_of(read: Callable[[], str | None]) -> str:
    """The holder's name as `read` finds it (empty or None: not written yet), waited for a moment."""
    deadline = time.monotonic() + WAIT_FOR_NAME_SECONDS
    while not (holder := read()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return holder or "another process"
