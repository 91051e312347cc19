"""Engine calls off the event loop where the database makes the loop wait: PostgreSQL.

On PostgreSQL a command waits for the server at every statement, for its fsync at commit
and, with several workers, for the log-head lock that serializes appends; a read is several
round trips (the pool's pre-ping, the query, the rollback). Run on the event loop, every such
wait stalled the other requests of the process. There, the routes hand each command to one
writer thread and each read to a small pool of reader threads, and await them: the loop goes
on parsing, authenticating and answering meanwhile (bench/load.py --database-url …: reads
+30–40%, sign-offs +10%).

One writer thread, not the pool: commands are serialized by the log head anyway, so a second
thread would only wait for the lock while taking the interpreter from the loop; with one
thread they run in arrival order.

On SQLite both run inline, on the loop. A read takes a few tens of microseconds and a commit's
sync a few hundred, and the hop cost more than it freed: sqlite3 releases the interpreter at
every statement, the loop takes it, and the writer thread waits to get it back — sign-offs
were 15–25% slower through the thread in the same run (the loop waits through a commit
instead, at most one at a time: writes are serialized by a process lock there anyway).

Either way the engine checks what it always checked (role, organization, network
membership); an exception it raises reaches the route, and the app's error handlers,
unchanged.
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
_readers: ThreadPoolExecutor | None = None
READER_THREADS = 4


def writer() -> ThreadPoolExecutor:
    """The process's writer thread (started at its first command)."""
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=1,
                                               thread_name_prefix="lifecycle-writer")
    return _executor


def _on_sqlite(lc) -> bool:
    return lc.engine.dialect.name == "sqlite"


async def write(command: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run an engine command (a bound method of the Lifecycle, `lc.record_signoff`) and return
    what it returns: inline on SQLite, on the writer thread on PostgreSQL."""
    if _on_sqlite(command.__self__):
        return command(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(writer(), partial(command, *args, **kwargs))


def readers() -> ThreadPoolExecutor:
    """The process's reader threads (PostgreSQL only)."""
    global _readers
    if _readers is None:
        with _lock:
            if _readers is None:
                _readers = ThreadPoolExecutor(max_workers=READER_THREADS,
                                              thread_name_prefix="lifecycle-reader")
    return _readers


async def read(lc, query: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a read of `lc`'s database: inline on SQLite, on a reader thread on PostgreSQL."""
    if _on_sqlite(lc):
        return query(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(readers(), partial(query, *args, **kwargs))
