"""The engine's commands run on one writer thread, off the event loop.

A command ends in a commit that waits for the disk (SQLite `synchronous=FULL` syncs the log
to the device; PostgreSQL waits for its own fsync and, under load from other workers, for the
log-head lock). Run on the event loop, that wait stalled every other request of the process,
reads included. The routes therefore hand each command to this thread and await it: the loop
goes on parsing, authenticating and answering other requests while the command commits.

One thread, not the thread pool: commands are serialized by the log head anyway (a process
lock for SQLite, the row lock for PostgreSQL), so a second thread would only wait for that
lock while taking the interpreter from the loop; with one thread they run in arrival order.
What a command checks (role, organization, network membership) it still checks itself; an
exception it raises reaches the route, and the app's error handlers, unchanged. Reads stay on
the loop: they take a few tens of microseconds and a hop to a thread costs about as much.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def writer() -> ThreadPoolExecutor:
    """The process's writer thread (started at its first command)."""
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=1,
                                               thread_name_prefix="lifecycle-writer")
    return _executor


async def write(command: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run an engine command on the writer thread and return what it returns."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(writer(), partial(command, *args, **kwargs))
