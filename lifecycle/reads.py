"""Reads for the API's busiest routes: a work with its network, in one read transaction, each
projection parsed once per stored text.

`Lifecycle.get_work` and `get_network` each take a pooled connection and parse the stored
JSON into dataclasses; a reviewer's GET /works/{id} needs both, and parsing the network (its
members) and the work (its proposals and sign-offs) was most of the engine's part of the
request. Here both rows are read in one statement and every read compares the stored text
with the text of the objects kept from the last read of that row: equal text, the same
objects; any change (a sign-off, a member added, by this process or any other), new text and
a fresh parse. Nothing is ever served that is not what the database holds at the read.

The objects are shared between requests: callers read them and never change them (the API's
work detail, tally and dry run only read; tests/api/test_api_reads.py checks that a cached
work still equals a fresh parse after being served).
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import bindparam, select

from lifecycle.db import DriverTransaction, NetworkRow, Prepared, WorkRow
from lifecycle.errors import NotFound
from lifecycle.model import Network, Work

from lifecycle.projection import network as _parse_network
from lifecycle.projection import work as _parse_work

_WORKS = WorkRow.__table__
_NETWORKS = NetworkRow.__table__
# One statement, so one round trip to PostgreSQL: the work's row and its network's.
_WORK_AND_NETWORK = Prepared(
    select(_WORKS.c.state, _WORKS.c.network_id, _NETWORKS.c.state)
    .select_from(_WORKS.outerjoin(_NETWORKS, _NETWORKS.c.id == _WORKS.c.network_id))
    .where(_WORKS.c.id == bindparam("key")))

# Rows kept per kind; past it the cache starts again (a cheap bound, no bookkeeping per hit).
MAX_KEPT = 1024


class Projections:
    """Parsed projections of one database, kept by row and checked against the stored text
    at every read."""

    def __init__(self, max_kept: int = MAX_KEPT):
        self.max_kept = max_kept
        self._kept: dict[tuple[str, int], tuple[str, object]] = {}
        self._lock = threading.Lock()

    def _parsed(self, kind: str, key: int, text: str, parse):
        kept = self._kept.get((kind, key))
        if kept is not None and kept[0] == text:
            return kept[1]
        obj = parse(text)
        with self._lock:
            if len(self._kept) >= self.max_kept:
                self._kept.clear()
            self._kept[(kind, key)] = (text, obj)
        return obj

    def work_and_network(self, engine, work_id: int) -> tuple[Work, Network]:
        """The work and its network as stored now (NotFound for an unknown work)."""
        with DriverTransaction(engine, write=False) as conn:
            row = _WORK_AND_NETWORK.one(conn, {"key": work_id})
        if row is None:
            raise NotFound(f"work {work_id} not found")
        work_text, network_id, network_text = row
        if network_text is None:
            raise NotFound(f"network {network_id} not found")
        return (self._parsed("work", work_id, work_text, _parse_work),
                self._parsed("network", network_id, network_text, _parse_network))


_of_lifecycle: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_of_lifecycle_lock = threading.Lock()


def work_and_network(lc, work_id: int) -> tuple[Work, Network]:
    """The work and its network as `lc`'s database holds them now (one cache per Lifecycle
    object)."""
    kept = _of_lifecycle.get(lc)
    if kept is None:
        with _of_lifecycle_lock:
            kept = _of_lifecycle.setdefault(lc, Projections())
    return kept.work_and_network(lc.engine, work_id)
