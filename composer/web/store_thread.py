"""`weekly serve`'s store connection: opened once, kept open, used by one thread of its own.

Store work never runs on the event loop (a busy SQLite file or a PostgreSQL server across the network
waits for seconds) and never on two threads at once. Requests queue their work here; the thread runs
everything waiting at that moment, in order, and hands the results back to the event loop in one call,
so a burst of requests costs the loop one wake-up per batch rather than one per request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from typing import Any

from composer.store import Store

Work = Callable[[Store], Any]


class StoreThread:
    """The thread that owns `store`; `close()` closes the store on that thread and ends it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._jobs: list[tuple[Work, asyncio.Future | Future]] = []
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._thread.start()

    async def run(self, work: Work) -> Any:
        """`work(store)`'s result (or its exception), awaited on the event loop."""
        answer = asyncio.get_running_loop().create_future()
        self._queue(work, answer)
        return await answer

    def call(self, work: Work) -> Any:
        """`work(store)`'s result (or its exception), from a thread that may block (never the event loop)."""
        answer: Future = Future()
        self._queue(work, answer)
        return answer.result()

    def close(self, timeout: float = 10) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join(timeout)

    def _queue(self, work: Work, answer: asyncio.Future | Future) -> None:
        with self._changed:
            if self._closing:
                raise RuntimeError("the server's store connection is closed")
            self._jobs.append((work, answer))
            self._changed.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._jobs or self._closing)
                    jobs, self._jobs = self._jobs, []
                if not jobs:
                    return
                done: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any, BaseException | None]]] = {}
                for work, answer in jobs:
                    result, error = None, None
                    try:
                        result = work(self.store)
                    except Exception as err:  # noqa: BLE001 (handed to the caller, who decides)
                        error = err
                    if isinstance(answer, Future):
                        answer.set_exception(error) if error else answer.set_result(result)
                    else:
                        done.setdefault(answer.get_loop(), []).append((answer, result, error))
                for loop, answers in done.items():
                    with suppress(RuntimeError):  # the loop is closed: nobody waits any more
                        loop.call_soon_threadsafe(_settle, answers)
        finally:
            self.store.close()


def _settle(answers: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    """On the event loop: each awaiting request gets its result (a request gone meanwhile is skipped)."""
    for answer, result, error in answers:
        if answer.cancelled():
            continue
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(result)
