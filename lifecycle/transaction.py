"""One write transaction: the part of the state a command loads, the entries it appends to
the log, and the projections it stores — the append side of the log (lifecycle.ledger reads).

It works on the driver's connection, not the ORM: a command writes a handful of rows, and the
ORM's unit of work would cost more than the writes themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select

from lifecycle import projection
from lifecycle.db import (
    DriverTransaction,
    LogEntry,
    LogHead,
    MerkleNode,
    NetworkRow,
    OrganizationRow,
    Prepared,
    User,
    WorkRow,
    insert_all,
)
from lifecycle.log.canonical import encode, format_time, parse_time
from lifecycle.log.merkle import leaf_hash, nodes_to_store_on_append
from lifecycle.model import Network, Organization, State, UserInfo, Work
from lifecycle.organizations import normalize_name
from lifecycle.reducer import apply
from lifecycle.search import search_key
from lifecycle.errors import NotFound

_LOG = LogEntry.__table__
_NODES = MerkleNode.__table__
_HEAD = LogHead.__table__
_USERS = User.__table__
_NETWORKS = NetworkRow.__table__
_WORKS = WorkRow.__table__
_ORGS = OrganizationRow.__table__
# Statements built once: constructing a statement costs more than running it on SQLite.
_INSERT_ENTRY = insert_all(_LOG)
_INSERT_NODE = insert_all(_NODES)
_HEAD_COLUMNS = (_HEAD.c.size, _HEAD.c.head, _HEAD.c.frontier)
_LOCK_HEAD = Prepared(select(*_HEAD_COLUMNS).where(_HEAD.c.id == 1).with_for_update())
_UPDATE_HEAD = Prepared(_HEAD.update().where(_HEAD.c.id == 1).values(
    size=bindparam("size"), head=bindparam("head"), frontier=bindparam("frontier")))
_HEAD_ROW = Prepared(select(*_HEAD_COLUMNS).where(_HEAD.c.id == 1))
_STATE_OF = {
    "network": Prepared(select(_NETWORKS.c.state).where(_NETWORKS.c.id == bindparam("key"))),
    "work": Prepared(select(_WORKS.c.state).where(_WORKS.c.id == bindparam("key"))),
    "organization": Prepared(select(_ORGS.c.state).where(_ORGS.c.id == bindparam("key"))),
}
_INSERT_ROW = {"network": insert_all(_NETWORKS), "work": insert_all(_WORKS),
               "organization": insert_all(_ORGS)}
_ORG_BY_TAX_ID = Prepared(select(_ORGS.c.id).where(_ORGS.c.tax_id == bindparam("tax_id")))
_ALL_NETWORKS = Prepared(select(_NETWORKS.c.id))
_LAST_AT = Prepared(select(_LOG.c.at).where(_LOG.c.seq == bindparam("seq")))
_USER_COLUMNS = (_USERS.c.id, _USERS.c.username, _USERS.c.role, _USERS.c.entity,
                 _USERS.c.organization_id)
_USERS_BY_PERSON = Prepared(select(*_USER_COLUMNS, _USERS.c.person_id)
                            .where(_USERS.c.person_id == bindparam("person_id")))
_INSERT_HEAD = insert_all(_HEAD)
_INSERT_USER = insert_all(_USERS)
_USER_BY_NAME = Prepared(select(_USERS.c.id).where(_USERS.c.username == bindparam("username")))
_USER_BY_ID = Prepared(select(*_USER_COLUMNS, _USERS.c.person_id)
                       .where(_USERS.c.id == bindparam("id")))
_USER_BY_TOKEN = Prepared(select(*_USER_COLUMNS)
                          .where(_USERS.c.token_hash == bindparam("token_hash")))
_WORK_BY_CODE = Prepared(select(_WORKS.c.id).where(_WORKS.c.code == bindparam("code")))
_MAX_ID = {table.name: Prepared(select(func.max(table.c.id)))
           for table in (_USERS, _NETWORKS, _WORKS, _ORGS)}
_TABLES = {"network": _NETWORKS, "work": _WORKS, "organization": _ORGS}
# The projected columns beside the state, as the row holds them: a store then writes only the
# columns that changed, so SQLite leaves alone the indexes of those that did not (a sign-off
# changes no indexed column of its work).
_COLUMNS = {kind: tuple(c.name for c in table.columns if c.name not in ("id", "state"))
            for kind, table in _TABLES.items()}
_ROW_OF = {kind: Prepared(select(table.c.state, *(table.c[name] for name in _COLUMNS[kind]))
                          .where(table.c.id == bindparam("key")))
           for kind, table in _TABLES.items()}
_UPDATES: dict[tuple[str, tuple[str, ...]], Prepared] = {}


def _update(kind: str, names: tuple[str, ...]) -> Prepared:
    """UPDATE of just `names` (sorted) of a `kind` row, built once per set of columns."""
    statement = _UPDATES.get((kind, names))
    if statement is None:
        table = _TABLES[kind]
        statement = _UPDATES[(kind, names)] = Prepared(
            table.update().where(table.c.id == bindparam("key"))
            .values({name: bindparam(name) for name in names}))
    return statement


class LogHeadRow(NamedTuple):
    size: int
    head: str
    frontier: str


class _Tx:
    """One write transaction: the part of the state it loaded, and the entries it appends."""

    def __init__(self, conn: DriverTransaction, head, at: datetime,
                 last: tuple[int, str] | None = None):
        """`last`: (log size, time of the last entry) if the caller knows it."""
        self.conn = conn
        self.size, self.head_hash = head.size, head.head
        self.at = format_time(at)
        if head.size:
            # The log's time never runs backwards (DESIGN §4): a clock that stepped back is
            # clamped to the previous entry's time.
            if last is not None and last[0] == head.size:
                previous = last[1]
            else:
                row = _LAST_AT.one(conn, {"seq": head.size - 1})
                previous = row[0] if row else None
            if previous and previous > self.at:
                self.at = previous
        self.at_dt = parse_time(self.at)
        self.state = State(size=head.size, head=head.head)
        self.frontier = [bytes.fromhex(h) for h in head.frontier.split(",") if h]
        # (kind, id) -> the row as loaded: its state text and its projected columns.
        self._loaded: dict[tuple[str, int], tuple[str, dict]] = {}
        self._touched: set[tuple[str, int]] = set()
        self.entries: list[dict] = []
        self._last_ids: dict[str, int] = {}  # table -> the last id this transaction gave out

    def next_id(self, table: str) -> int:
        """The next id of `table` (users, networks, works, organizations). The projection rows
        of this transaction's own entries are written only at `flush`, so the ids it already
        gave out count as well: two organizations registered in one transaction (an award's
        supplier and a consortium member) get two ids."""
        stored = _MAX_ID[table].one(self.conn)[0] or 0
        given = self._last_ids[table] = max(stored, self._last_ids.get(table, 0)) + 1
        return given

    def _row_state(self, kind: str, key: int) -> str | None:
        """The row's state text (None when there is no such row); remembers the row."""
        row = _ROW_OF[kind].one(self.conn, {"key": key})
        if row is None:
            return None
        self._loaded[(kind, key)] = (row[0], dict(zip(_COLUMNS[kind], row[1:])))
        return row[0]

    def _load(self, kind: str, key: int, held: dict, parse):
        """The object `kind` `key`, from `held` (the state's) or its row; None if no row."""
        if key not in held:
            text = self._row_state(kind, key)
            if text is None:
                return None
            held[key] = parse(text)
        return held[key]

    def network(self, network_id: int) -> Network:
        network = self._load("network", network_id, self.state.networks, projection.network)
        if network is None:
            raise NotFound(f"network {network_id} not found")
        return network

    def organization(self, organization_id: int | None) -> Organization | None:
        """The organization, or None when there is none with that id."""
        if organization_id is None or type(organization_id) is not int:
            return None
        return self._load("organization", organization_id, self.state.organizations,
                          projection.organization)

    def organization_by_tax_id(self, tax_id: str | None) -> Organization | None:
        row = _ORG_BY_TAX_ID.one(self.conn, {"tax_id": tax_id}) if tax_id else None
        return self.organization(row[0]) if row else None

    def all_networks(self) -> list[Network]:
        return [self.network(row[0]) for row in _ALL_NETWORKS(self.conn).fetchall()]

    def user(self, user_id) -> UserInfo | None:
        row = _USER_BY_ID.one(self.conn, {"id": user_id}) if type(user_id) is int else None
        return UserInfo(*row) if row else None

    def users_of_person(self, person_id: str | None) -> list[UserInfo]:
        if not person_id:
            return []
        return [UserInfo(*row) for row in
                _USERS_BY_PERSON(self.conn, {"person_id": person_id}).fetchall()]

    def work(self, work_id: int) -> Work:
        work = self._load("work", work_id, self.state.works, projection.work)
        if work is None:
            raise NotFound(f"work {work_id} not found")
        return work

    def emit(self, type_: str, actor, data: dict) -> dict:
        """Append one entry to the log and apply it to the loaded state."""
        entry = {
            "v": 1,
            "seq": self.size,
            "prev": self.head_hash,
            "at": self.at,
            "type": type_,
            "actor": actor.as_log(),
            "data": data,
        }
        raw = encode(entry)
        leaf = leaf_hash(raw)
        self.frontier, nodes = nodes_to_store_on_append(self.frontier, self.size, leaf)
        _INSERT_ENTRY(self.conn, {
            "seq": self.size, "entry": raw, "leaf_hash": leaf, "type": type_,
            "work_id": data.get("work_id"), "at": self.at})
        _INSERT_NODE(self.conn, many=[
            {"level": level, "idx": idx, "hash": h} for level, idx, h in nodes])
        self.size += 1
        self.head_hash = leaf.hex()
        apply(self.state, entry)
        # Only the objects an entry names can change; the rest need not be serialized again.
        if "work_id" in data:
            self._touched.add(("work", data["work_id"]))
        elif "network_id" in data:
            self._touched.add(("network", data["network_id"]))
        elif type_.startswith("organization."):
            self._touched.add(("organization", data["organization_id"]))
        self.entries.append(entry)
        return entry

    def flush(self) -> None:
        """Write the projections the entries changed, then the new log head."""
        for kind, key in sorted(self._touched):
            if kind == "network":
                network = self.state.networks[key]
                self._store("network", key, network,
                            {"name": network.name, "region": network.region})
                continue
            if kind == "organization":
                org = self.state.organizations[key]
                self._store("organization", key, org, {
                    "name": org.name, "name_key": normalize_name(org.name),
                    "tax_id": org.tax_id, "kind": org.kind})
                continue
            work = self.state.works[key]
            self._store("work", key, work, {
                "code": work.code, "title": work.title, "entity": work.entity,
                "region": work.region, "network_id": work.network_id, "stage": work.stage,
                "version": work.version, "last_change_at": work.last_change_at,
                "stage_entered_at": work.stage_entered_at, "search_key": search_key(work)})
        if self.entries:
            _UPDATE_HEAD(self.conn, {
                "size": self.size, "head": self.head_hash,
                "frontier": ",".join(h.hex() for h in self.frontier)})

    def _store(self, kind: str, key: int, obj: Network | Work | Organization,
               columns: dict) -> None:
        text = projection.dumps(obj)
        loaded = self._loaded.get((kind, key))
        if loaded is None:
            _INSERT_ROW[kind](self.conn, {"id": key, "state": text, **columns})
            return
        before_text, before = loaded
        changed = {name: value for name, value in columns.items() if before.get(name) != value}
        if text != before_text:
            changed["state"] = text
        if changed:
            _update(kind, tuple(sorted(changed)))(self.conn, {"key": key, **changed})
