"""A pure function over many values on two cores: a forked copy of the process maps the second half while
this one maps the first, and sends its results back pickled.

Only worth it for many values (a week of 10,000 items; forking and pickling cost some milliseconds), so
below `at_least` values, on one core or where there is no fork, it is a plain map. The function must be
pure (its results the same in either process); any failure in the copy (it dies, is killed, raises) and
this process maps the second half itself, so the results never depend on the fork.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable, Sequence
from typing import TypeVar

MANY = 2000  # values (a week's items): fewer are mapped in this process alone (a fork costs more than it saves)

Value = TypeVar("Value")
Result = TypeVar("Result")


def split_map(function: Callable[[Value], Result], values: Sequence[Value], at_least: int) -> list[Result]:
    """`[function(value) for value in values]`, the second half computed in a forked process when there are
    at least `at_least` values and two cores."""
    if len(values) < at_least or not hasattr(os, "fork") or _cores() < 2:
        return [function(value) for value in values]
    half = len(values) // 2
    mine, theirs = values[:half], values[half:]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the copy: map, send, and leave without running this process's exit handlers or buffers
        status = 1
        try:
            os.close(read)
            data = pickle.dumps([function(value) for value in theirs], pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as sending:
                sending.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    pipe = os.fdopen(read, "rb")
    data = b""
    try:
        results = [function(value) for value in mine]
        data = pipe.read()
    finally:
        pipe.close()
        if not data:  # this half failed (or was interrupted): the copy's work is of no use, and it stops now
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
    if status == 0 and data:
        try:
            sent = pickle.loads(data)
        except Exception:  # noqa: BLE001 - a copy that sent less than it said: map that half here
            sent = None
        if isinstance(sent, list) and len(sent) == len(theirs):
            return results + sent
    return results + [function(value) for value in theirs]


def _cores() -> int:
    """The cores this process may run on (not the machine's, where it is limited to fewer)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
