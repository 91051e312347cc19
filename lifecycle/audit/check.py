"""`lifecycle audit check`: the live database against itself.

Streams the stored entries once: each must be canonical, carry its own seq and the previous
leaf hash, and match its stored leaf hash; the stored Merkle nodes must be the ones the entries
produce; the log head must match; and the projections must equal a replay of the entries.
"""

from __future__ import annotations

import json

from rich.progress import Progress
from sqlalchemy import func, select
from sqlmodel import Session

from lifecycle.db import LogEntry, LogHead, MerkleNode, NetworkRow, User, WorkRow
from lifecycle.log.canonical import CanonicalError, check_canonical
from lifecycle.log.merkle import leaf_hash, nodes_to_store_on_append
from lifecycle.model import State
from lifecycle.reducer import ReplayError

BATCH = 2000


def check_database(lc, *, progress: bool = False) -> tuple[list[str], int]:
    """Return (problems, size). The first problem in the log stops the walk; projections are
    then not compared, since a replay of a broken log proves nothing."""
    with Session(lc.engine) as session:
        head = session.get(LogHead, 1)
        total = session.execute(select(func.count()).select_from(LogEntry)).scalar() or 0
        state, frontier, problem = _walk(session, total, progress)
        if problem:
            return [problem], total
        problems = []
        size = head.size if head else 0
        if size != total:
            problems.append(f"log head: size {size}, but {total} entries are stored")
        elif head is not None:
            stored = [bytes.fromhex(h) for h in head.frontier.split(",") if h]
            if stored != frontier:
                problems.append("log head: stored frontier differs from the entries' tree")
            if total and head.head != state.head:
                problems.append("log head: last leaf hash differs from the last entry")
        node_count = session.execute(select(func.count()).select_from(MerkleNode)).scalar()
        expected_nodes = 2 * total - len(frontier) if total else 0
        if node_count != expected_nodes:
            problems.append(f"merkle nodes: {node_count} stored, {expected_nodes} expected")
        problems += _compare_projections(session, state)
    # The signed checkpoints kept in the database must sign this very log (a rewritten history
    # or an edited table shows here; lifecycle/ledger.py owns both sides).
    from lifecycle.ledger import signed_checkpoint_problems

    problems += signed_checkpoint_problems(lc)
    return problems, total


def _walk(session: Session, total: int, progress: bool):
    # The replayer judges every entry with the live service's decision code while it
    # rebuilds the state (DESIGN §5: "every entry legal").
    from lifecycle.audit.replay import Replayer

    replayer = Replayer()
    state = replayer.state
    frontier: list[bytes] = []
    prev = "0" * 64
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("checking entries", total=total)
        seq = 0
        while True:
            rows = session.execute(
                select(LogEntry.seq, LogEntry.entry, LogEntry.leaf_hash)
                .where(LogEntry.seq >= seq).order_by(LogEntry.seq).limit(BATCH)).all()
            if not rows:
                break
            expected_nodes = {}
            for stored_seq, raw, stored_leaf in rows:
                if stored_seq != seq:
                    return state, frontier, f"entry {seq}: missing (next stored is {stored_seq})"
                try:
                    entry = check_canonical(raw)
                except CanonicalError as exc:
                    return state, frontier, f"entry {seq}: {exc}"
                leaf = leaf_hash(raw)
                if leaf != stored_leaf:
                    return state, frontier, f"entry {seq}: stored leaf hash does not match"
                if entry.get("seq") != seq:
                    return state, frontier, f"entry {seq}: seq is {entry.get('seq')!r}"
                if entry.get("prev") != prev:
                    return state, frontier, f"entry {seq}: prev does not match entry {seq - 1}"
                try:
                    replayer.feed(entry)
                except ReplayError as exc:
                    return state, frontier, f"entry {seq}: {exc}"
                if replayer.illegal:
                    return state, frontier, str(replayer.illegal[0])
                state.head = leaf.hex()
                frontier, nodes = nodes_to_store_on_append(frontier, seq, leaf)
                for level, idx, h in nodes:
                    expected_nodes[(level, idx)] = (h, seq)
                prev = leaf.hex()
                seq += 1
            stored = _stored_nodes(session, expected_nodes)
            for key, (h, at_seq) in expected_nodes.items():
                if key not in stored:
                    return state, frontier, f"entry {at_seq}: merkle node {key} is missing"
                if stored[key] != h:
                    return state, frontier, (f"entry {at_seq}: merkle node {key} does not match "
                                             "the entries")
            bar.advance(task, len(rows))
    state.size = seq
    return state, frontier, None


def _stored_nodes(session: Session, wanted: dict) -> dict:
    """The stored nodes among `wanted`, read as one index range per tree level."""
    by_level: dict[int, list[int]] = {}
    for level, idx in wanted:
        by_level.setdefault(level, []).append(idx)
    found = {}
    for level, indexes in by_level.items():
        rows = session.execute(
            select(MerkleNode.idx, MerkleNode.hash).where(
                MerkleNode.level == level, MerkleNode.idx >= min(indexes),
                MerkleNode.idx <= max(indexes)))
        found.update({(level, idx): h for idx, h in rows})
    return found


def _canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _compare_projections(session: Session, state: State) -> list[str]:
    problems = []
    for kind, table, replayed in (("network", NetworkRow, state.networks),
                                  ("work", WorkRow, state.works)):
        stored = {row.id: row for row in session.execute(select(table)).scalars()}
        for key in sorted(set(stored) | set(replayed)):
            if key not in stored:
                problems.append(f"{kind} {key}: in the log but not in the projections")
            elif key not in replayed:
                problems.append(f"{kind} {key}: in the projections but not in the log")
            elif json.loads(stored[key].state) != json.loads(_canonical_json(
                    replayed[key].to_dict())):
                problems.append(f"{kind} {key}: projection differs from a replay of the log")
            elif kind == "work" and (stored[key].stage, stored[key].version) != (
                    replayed[key].stage, replayed[key].version):
                problems.append(f"work {key}: stage or version column differs from a replay")
    users = {u.id: u for u in session.execute(select(User)).scalars()}
    for user_id, info in state.users.items():
        user = users.get(user_id)
        if user is None or (user.username, user.role, user.entity) != (
                info.username, info.role, info.entity):
            problems.append(f"user {user_id}: differs from its user.registered entry")
    return problems


