"""Service commands. One command = one database transaction:
load state -> check permissions -> evaluate guards -> append events -> update projections.

Every write locks the log head first (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL), so
commands that touch the same work are serialized and the log's order is the commit order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from pwdlib import PasswordHash
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from lifecycle import decide, projection
from lifecycle.admin_commands import AdminCommands
from lifecycle import execution
from lifecycle import validation as check
from lifecycle.blobs import blob_store
from lifecycle.db import (
    WRITE_OPTION,
    DriverTransaction,
    LogEntry,
    Prepared,
    NetworkRow,
    User,
    WorkRow,
)
from lifecycle.evidence.signing import SigningCommands
from lifecycle.execution_commands import ExecutionCommands, amendment_input
from lifecycle.errors import (
    Conflict,
    Forbidden,
    Invalid,
    LifecycleError,
    NotFound,
    PreconditionFailed,
    Refused,
)
from lifecycle.decide import Refusal
from lifecycle.guards import GuardResult, GuardState, evaluate, red_flags
from lifecycle.guards.policy import pinned
from lifecycle.log.canonical import format_time, parse_time
from lifecycle.log.merkle import root_from_frontier
from lifecycle.model import (
    DEFAULT_SLA_DAYS,
    Network,
    Organization,
    Policy,
    Proposal,
    UserInfo,
    Work,
)
from lifecycle.outbox import check_email
from lifecycle.work_details import WorkCorrections, check_details
from lifecycle.search import fold
from lifecycle.outbox import enqueue_for as enqueue_notifications
from lifecycle.outbox import save_settings as save_notification_settings
from lifecycle.states import FINAL_STAGES, SECTORS, STAGES

from lifecycle.transaction import (  # noqa: F401  (_Tx: the type other command mixins name)
    _HEAD_ROW,
    _INSERT_HEAD,
    _INSERT_USER,
    _LOCK_HEAD,
    _LOG,
    _MAX_ID,
    _NETWORKS,
    _ORGS,
    _STATE_OF,
    _USER_BY_NAME,
    _USER_BY_TOKEN,
    _USERS,
    _WORK_BY_CODE,
    _WORKS,
    LogHeadRow,
    _Tx,
)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_passwords = PasswordHash.recommended()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who acts: an authenticated user, or the system itself (init, demo set-up)."""

    id: int | str
    username: str
    role: str
    entity: str | None = None  # the name of the organization it acts for, for display
    organization_id: int | None = None

    def as_log(self) -> dict:
        return {"id": self.id, "role": self.role}


SYSTEM = Actor(id="system", username="system", role="system")


@dataclass(frozen=True)
class ApplyOutcome:
    applied: bool
    work: Work
    proposal: Proposal
    results: list[GuardResult]
    entry: dict


@dataclass
class WorkPage:
    works: list[WorkRow]
    next_cursor: str | None


def _require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles and actor.role != "system":
        raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {actor.role}")


_ERRORS = {"forbidden": Forbidden, "not_found": NotFound, "conflict": Conflict,
           "refused": Refused}


def refuse(refusals: list[Refusal]) -> None:
    """Raise the first refusal of a decision as the error the interfaces map to a status."""
    if not refusals:
        return
    first = refusals[0]
    if first.kind == "invalid":
        raise Invalid(first.field or first.rule, first.message)
    key = "guard" if first.kind == "refused" else "field"
    raise _ERRORS[first.kind](first.message, [{key: r.rule, "message": r.message}
                                              for r in refusals])


class Lifecycle(AdminCommands, SigningCommands, ExecutionCommands, WorkCorrections):
    """The engine: commands that change state, and the queries that read it. Members' keys and
    signed sign-offs: lifecycle.evidence.signing."""

    def __init__(self, *, engine: Engine, data_dir: Path, clock: Callable[[], datetime] = utcnow,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES):
        self.engine = engine
        self.write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.max_upload_bytes = max_upload_bytes
        self.blobs = blob_store(engine, self.data_dir)  # documents: database or data folder
        # Test hook: called after a command's entries are written, before commit.
        self.before_commit: Callable[[_Tx], None] | None = None
        # (log size, time of its last entry) as this process last committed it: the next
        # write's clock check needs that time, and need not read it again while no other
        # process has appended (the size says so).
        self._last_entry: tuple[int, str] | None = None

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _write(self) -> Iterator[_Tx]:
        with DriverTransaction(self.engine) as conn:
            head = _LOCK_HEAD.one(conn)
            if head is None:
                _INSERT_HEAD(conn, {"id": 1, "size": 0, "head": "0" * 64, "frontier": ""})
                head = _LOCK_HEAD.one(conn)
            tx = _Tx(conn, LogHeadRow(*head), self.clock(), last=self._last_entry)
            try:
                yield tx
                tx.flush()
                enqueue_notifications(tx)  # the outbox commits with the entries, or neither
                if self.before_commit is not None:
                    self.before_commit(tx)
            except conn.integrity_error as exc:
                raise Conflict(f"conflicting change: {exc}") from exc
        if tx.entries:  # committed
            self._last_entry = (tx.size, tx.at)

    def _read(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _next_id(self, tx: _Tx, table) -> int:
        return tx.next_id(table.name)

    # ------------------------------------------------------------------ users
    def create_user(self, *, actor: Actor, username: str, role: str,
                    organization_id: int | None = None, person_id: str | None = None,
                    password: str | None = None, display_name: str | None = None,
                    email: str | None = None) -> tuple[UserInfo, str]:
        """Create a user and return the API token, which is stored only as its SHA-256."""
        _require(actor, "admin")
        username = check.username(username)
        role = check.choice("role", role, check.ROLES)
        person = check.person_id(person_id)
        if organization_id is not None:
            organization_id = check.positive_int("organization_id", organization_id, minimum=1,
                                                 maximum=2**31 - 1)
        if password is not None:
            password = check.text("password", password, max_len=200)
            if len(password) < 8:
                raise Invalid("password", "must have at least 8 characters")
        email = check_email(email)  # private: kept in the notification settings, not the log
        token = secrets.token_urlsafe(32)
        password_hash = _passwords.hash(password) if password else None  # outside the lock
        with self._write() as tx:
            organization = tx.organization(organization_id)
            reviewing = decide.networks_reviewed_by(
                tx.all_networks(), organization, tx.users_of_person(person)) \
                if role == "official" and person else []
            refuse(decide.user(actor, role, organization, organization_id, reviewing))
            if _USER_BY_NAME.one(tx.conn, {"username": username}):
                raise Conflict(f"username {username!r} is taken",
                               [{"field": "username", "message": "is taken"}])
            entity = organization.name if organization is not None else None
            user_id = self._next_id(tx, _USERS)
            _INSERT_USER(tx.conn, {
                "id": user_id, "username": username, "role": role, "entity": entity,
                "organization_id": organization_id, "person_id": person,
                "token_hash": hash_token(token),
                "password_hash": password_hash,
                "created_at": tx.at})
            data = {"user_id": user_id, "username": username, "role": role, "entity": entity}
            if organization_id is not None:
                data["organization_id"] = organization_id
            if person:
                data["person_id"] = person
            tx.emit("user.registered", actor, data)
        if email:
            save_notification_settings(self.engine, user_id, email=email)
        return UserInfo(user_id, username, role, entity, organization_id, person), token

    def set_password(self, *, user_id: int, password: str) -> None:
        # Hash first: argon2 takes a noticeable fraction of a second, and the write lock
        # should not be held for it.
        password_hash = _passwords.hash(password)
        with self.write_engine.begin() as conn:
            done = conn.execute(_USERS.update().where(_USERS.c.id == user_id).values(
                password_hash=password_hash))
            if done.rowcount == 0:
                raise NotFound(f"user {user_id} not found")

    def authenticate_token(self, token: str | None) -> Actor | None:
        if not token:
            return None
        with DriverTransaction(self.engine, write=False) as conn:
            row = _USER_BY_TOKEN.one(conn, {"token_hash": hash_token(token)})
        return Actor(*row) if row else None

    def authenticate_password(self, username: str, password: str) -> Actor | None:
        with self._read() as session:
            user = session.execute(
                select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.password_hash:
            _passwords.hash(password)  # same cost whether or not the user exists
            return None
        return _actor(user) if _passwords.verify(password, user.password_hash) else None

    def user(self, user_id: int) -> User:
        with self._read() as session:
            user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user

    def users(self) -> list[User]:
        with self._read() as session:
            return list(session.execute(select(User).order_by(User.id)).scalars())

    # ------------------------------------------------------------------ works
    def register_work(self, *, actor: Actor, code: str, title: str, region: str,
                      reference_amount, currency: str = "PEN", entity_id: int | None = None,
                      network_id: int | None = None, cui: str | None = None,
                      province: str | None = None, district: str | None = None,
                      sector: str | None = None, description: str | None = None) -> Work:
        """Register a work of the official's entity. Its network is its region's network; a
        `network_id` given must be that one."""
        details = check_details(cui=cui, province=province, district=district, sector=sector,
                                description=description)
        _require(actor, "official")
        code = check.text("code", code, max_len=64)
        title = check.text("title", title, max_len=300)
        region = check.text("region", region, max_len=100)
        amount = check.amount("reference_amount", reference_amount, positive=True)
        currency = check.currency("currency", currency)
        if entity_id is None:
            entity_id = actor.organization_id
        with self._write() as tx:
            entity = tx.organization(entity_id)
            region_network = decide.network_of_region(tx.all_networks(), region)
            if network_id is None and region_network is not None:
                network_id = region_network.id
            refuse(decide.work_registered(actor, entity, entity_id, region_network,
                                          network_id, region))
            if _WORK_BY_CODE.one(tx.conn, {"code": code}):
                raise Conflict(f"a work with code {code!r} exists",
                               [{"field": "code", "message": "is taken"}])
            work_id = self._next_id(tx, _WORKS)
            tx.emit("work.registered", actor, {
                "work_id": work_id, "code": code, "title": title, "entity": entity.name,
                "entity_id": entity.id, "region": region, "network_id": network_id,
                "reference_amount": amount, "currency": currency, **details})
            return tx.state.works[work_id]

    def _official_work(self, tx: _Tx, actor: Actor, work_id: int) -> Work:
        _require(actor, "official")
        work = tx.work(work_id)
        refuse(decide.acts_on_work(actor, work))
        return work

    def _member_work(self, tx: _Tx, actor: Actor, work_id: int) -> tuple[Work, Network]:
        _require(actor, "member")
        work = tx.work(work_id)
        network = tx.network(work.network_id)
        refuse(decide.reviews_work(actor, network, work))
        return work, network

    def attach_document(self, *, actor: Actor, work_id: int, kind: str, title: str,
                        filename: str, content: bytes | IO[bytes],
                        media_type: str = "application/octet-stream") -> Work:
        """Store the file by its SHA-256 in the data folder and log its attachment."""
        kind = check.choice("kind", kind, check.DOCUMENT_KINDS)
        title = check.text("title", title, max_len=300)
        filename = check.text("file", os.path.basename(filename or "") or "document",
                              max_len=255)
        media_type = check.text("file", media_type or "application/octet-stream", max_len=100)
        with self._write() as tx:
            work = self._official_work(tx, actor, work_id)
            if work.stage in FINAL_STAGES:
                raise Conflict(f"work {work.code} is {work.stage}; no more documents")
            sha256, size = self._store_blob(tx, content)
            tx.emit("document.attached", actor, {
                "work_id": work_id, "document_id": len(work.documents) + 1, "kind": kind,
                "title": title, "filename": filename, "media_type": media_type,
                "sha256": sha256, "size": size})
            return work

    def _store_blob(self, tx: _Tx, content: bytes | IO[bytes]) -> tuple[str, int]:
        # In the write transaction: the chunks commit or roll back with the entry.
        stored = self.blobs.put(tx.conn, content, limit=self.max_upload_bytes)
        return stored.sha256, stored.size

    def file_observation(self, *, actor: Actor, work_id: int, text: str) -> Work:
        text = check.text("text", text, max_len=5000)
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.observation_filed(actor, tx.network(work.network_id), work))
            tx.emit("observation.filed", actor, {
                "work_id": work_id, "observation_id": len(work.observations) + 1, "text": text})
            return work

    def answer_observation(self, *, actor: Actor, work_id: int, observation_id: int,
                           text: str) -> Work:
        text = check.text("text", text, max_len=5000)
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.observation_answered(actor, work, observation_id))
            tx.emit("observation.answered", actor, {
                "work_id": work_id, "observation_id": observation_id, "text": text})
            return work

    def judge_answer(self, *, actor: Actor, work_id: int, observation_id: int, accept: bool,
                     reason: str | None = None) -> Work:
        """The observation's author accepts or rejects its answer; a rejection states why and
        needs a new answer before the observation counts as answered."""
        reason = check.text("reason", reason, max_len=5000, required=not accept)
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.observation_verdict(actor, work, observation_id))
            data = {"work_id": work_id, "observation_id": observation_id}
            if reason:
                data["reason"] = reason
            tx.emit("observation.accepted" if accept else "observation.rejected", actor, data)
            return work

    def declare_conflict(self, *, actor: Actor, work_id: int, statement: str) -> Work:
        statement = check.text("statement", statement, max_len=2000)
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.conflict(actor, tx.network(work.network_id), work))
            tx.emit("conflict.declared", actor, {"work_id": work_id, "statement": statement})
            return work

    # ------------------------------------------------------------------ proposals
    def open_proposal(self, *, actor: Actor, work_id: int, trigger: str, justification: str,
                      award: dict | None = None, amendment: dict | None = None) -> Proposal:
        """Open a proposal; the policy in force is pinned in it, and for an award the supplier
        (and each consortium member) is found by its RUC or registered."""
        trigger = check.trigger(trigger)
        justification = check.text("justification", justification, max_len=5000,
                                    required=trigger == "suspend")
        award_input = _award(award) if trigger == "award" else None
        # Execution (wave 2): an amend proposal states its terms (lifecycle.execution).
        amendment_terms = amendment_input(amendment) \
            if trigger == "amend" and amendment is not None else None
        if amendment is not None and trigger != "amend":
            raise Invalid("amendment", "only an amend proposal carries amendment terms")
        if award is not None and trigger != "award":
            raise Invalid("award", "only an award proposal carries award data")
        with self._write() as tx:
            work = tx.work(work_id)
            network = tx.network(work.network_id)
            refuse(decide.proposal_opened(actor, work, trigger))
            award_data = self._award_organizations(tx, actor, award_input) \
                if award_input else None
            flags = red_flags(work.reference_amount, award_data, network.policy)
            data = {"work_id": work_id, "proposal_id": len(work.proposals) + 1,
                    "trigger": trigger, "justification": justification,
                    "red_flags": flags, "policy": pinned(network.policy)}
            if award_data is not None:
                data["award"] = award_data
            if trigger == "amend":
                refuse(decide.amendment_opened(work, amendment_terms))
                data["amendment"] = amendment_terms.as_data()
                data["red_flags"] = flags + execution.amendment_flags(work, amendment_terms,
                                                                      network.policy)
            tx.emit("proposal.opened", actor, data)
            return work.proposals[-1]

    def _award_organizations(self, tx: _Tx, actor: Actor, award: dict) -> dict:
        def find_or_register(party: dict, field: str) -> Organization:
            found = tx.organization_by_tax_id(party["tax_id"])
            if found is not None:
                return found
            return self._register_organization(
                tx, actor, name=party["name"], kind="company", sector="private_sector",
                tax_id=party["tax_id"], region=None, members=[], also=("official",))

        supplier = find_or_register(award["supplier"], "award.supplier")
        consortium = [find_or_register(p, "award.consortium") for p in award["consortium"]]
        ids = [o.id for o in consortium] + list(supplier.consortium_members)
        data = {"supplier": supplier.name, "supplier_id": supplier.id,
                "tax_id": supplier.tax_id, "amount": award["amount"],
                "bidders": award["bidders"]}
        if ids:
            data["consortium"] = [o.name for o in consortium]
            data["consortium_ids"] = sorted(set(ids))
        return data

    def withdraw_proposal(self, *, actor: Actor, work_id: int, proposal_id: int) -> Proposal:
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.proposal_withdrawn(actor, work, proposal_id))
            tx.emit("proposal.withdrawn", actor, {"work_id": work_id, "proposal_id": proposal_id})
            return work.proposal(proposal_id)

    def record_signoff(self, *, actor: Actor, work_id: int, proposal_id: int, decision: str,
                       reason: str | None = None, statement: dict | None = None,
                       proof: dict | None = None) -> Proposal:
        decision = check.choice("decision", decision, check.DECISIONS)
        reason = check.text("reason", reason, max_len=5000, required=decision == "block")
        with self._write() as tx:
            work = tx.work(work_id)
            network = tx.network(work.network_id)
            refuse(decide.signoff(actor, network, work, proposal_id, decision, reason))
            data = {"work_id": work_id, "proposal_id": proposal_id, "decision": decision}
            if reason:
                data["reason"] = reason
            if statement is not None or proof is not None:  # member signature (DESIGN §4.3)
                data.update(self.signed_signoff_data(tx, actor, work, work.proposal(proposal_id),
                                                     data, statement, proof))
            tx.emit("signoff.recorded", actor, data)
            return work.proposal(proposal_id)

    def overrule_block(self, *, actor: Actor, work_id: int, proposal_id: int, user_id: int,
                       reason: str) -> Proposal:
        """Lift the block of a member who has left the network: the quorum plus two counted
        approvals and a written reason; logged as block.overruled and shown on the proposal."""
        reason = check.text("reason", reason, max_len=5000)
        with self._write() as tx:
            work = tx.work(work_id)
            network = tx.network(work.network_id)
            refuse(decide.overrule(actor, network, work, proposal_id, user_id, reason, tx.at_dt))
            tx.emit("block.overruled", actor, {"work_id": work_id, "proposal_id": proposal_id,
                                               "user_id": user_id, "reason": reason})
            return work.proposal(proposal_id)

    def apply_proposal(self, *, actor: Actor, work_id: int, proposal_id: int,
                       if_match: int | None = None) -> ApplyOutcome:
        """Evaluate every guard; apply the transition or log its refusal. Both are committed.
        The caller turns a refusal into a 409 that lists each failing guard."""
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.apply_allowed(actor, work, proposal_id))
            if if_match is not None and if_match != work.version:
                raise PreconditionFailed(
                    f"work {work.code} is at version {work.version}, not {if_match}")
            proposal = work.proposal(proposal_id)
            network = tx.network(work.network_id)
            results, target = decide.transition(work, network, proposal, tx.at_dt,
                                                guards=evaluate)
            verdicts = [r.as_dict() for r in results]
            if target is None:
                entry = tx.emit("transition.refused", actor, {
                    "work_id": work_id, "proposal_id": proposal_id,
                    "trigger": proposal.trigger, "stage": work.stage, "guards": verdicts})
                return ApplyOutcome(False, work, proposal, results, entry)
            entry = tx.emit("transition.applied", actor, {
                "work_id": work_id, "proposal_id": proposal_id, "trigger": proposal.trigger,
                "from": work.stage, "to": target, "guards": verdicts})
            return ApplyOutcome(True, work, proposal, results, entry)

    # ------------------------------------------------------------------ reads
    def _state_text(self, kind: str, key: int) -> str:
        with DriverTransaction(self.engine, write=False) as conn:
            row = _STATE_OF[kind].one(conn, {"key": key})
        if row is None:
            raise NotFound(f"{kind} {key} not found")
        return row[0]

    def get_work(self, work_id: int) -> Work:
        return projection.work(self._state_text("work", work_id))

    def get_network(self, network_id: int) -> Network:
        return projection.network(self._state_text("network", network_id))

    def list_networks(self) -> list[Network]:
        with self._read() as session:
            rows = session.execute(select(NetworkRow).order_by(NetworkRow.id)).scalars()
            return [projection.network(r.state) for r in rows]

    def dry_run(self, work: Work, network: Network | None = None,
                at: datetime | None = None) -> list[GuardResult]:
        """The guards of the open proposal as they stand now, without applying anything."""
        proposal = work.open_proposal
        if proposal is None:
            return []
        network = network or self.get_network(work.network_id)
        at = parse_time(format_time(at or self.clock()))
        return evaluate(GuardState(work, network), proposal, network.policy, at)

    def is_stalled(self, row: WorkRow, policies: dict[int, Policy], now: datetime) -> int | None:
        """Days past the stage's service level, or None when the work is not stalled."""
        if row.stage in FINAL_STAGES:
            return None
        policy = policies.get(row.network_id) or Policy()
        sla = policy.stage_sla_days.get(row.stage)
        if sla is None:
            return None
        # Measured from when the work entered its stage: suspend/resume never resets it.
        overdue = now - parse_time(row.stage_entered_at or row.last_change_at) - timedelta(days=sla)
        return overdue.days if overdue > timedelta(0) else None

    def _policies(self, session: Session) -> dict[int, Policy]:
        rows = session.execute(select(NetworkRow)).scalars()
        return {r.id: projection.network(r.state).policy for r in rows}

    def _filter_works(self, query, *, stage=None, region=None, network_id=None, entity=None,
                      search=None, paralysed=None):
        """The works filters shared by the list and the portal's counts."""
        if stage:
            query = query.where(WorkRow.stage == check.choice("stage", stage, STAGES))
        if region:
            query = query.where(WorkRow.region == region)
        if network_id is not None:
            query = query.where(WorkRow.network_id == network_id)
        if entity:
            query = query.where(WorkRow.entity == entity)
        if search:
            # Accent- and case-insensitive, over the folded search key (lifecycle/search.py);
            # LIKE's own wildcards in the words are taken literally.
            words = fold(search).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(WorkRow.search_key.like(f"%{words}%", escape="\\"))
        if paralysed is not None:  # execution (wave 2): paralizada as the Comptroller counts
            ids = sorted(self.paralysed_ids())
            query = query.where(WorkRow.id.in_(ids) if paralysed else WorkRow.id.not_in(ids))
        return query

    def list_works(self, *, stage: str | None = None, region: str | None = None,
                   network_id: int | None = None, stalled: bool | None = None,
                   entity: str | None = None, search: str | None = None, limit: int = 50,
                   cursor: str | None = None, paralysed: bool | None = None) -> WorkPage:
        """Works in id order, a page at a time; the cursor is the last id seen, opaque."""
        limit = check.positive_int("limit", limit, minimum=1, maximum=500)
        after = _decode_cursor(cursor)
        query = self._filter_works(
            select(WorkRow).where(WorkRow.id > after).order_by(WorkRow.id), stage=stage,
            region=region, network_id=network_id, entity=entity, search=search,
            paralysed=paralysed)
        with self._read() as session:
            if stalled is None:
                rows = list(session.execute(query.limit(limit + 1)).scalars())
            else:
                policies, now = self._policies(session), self.clock()
                rows = []
                for row in session.execute(query).scalars():
                    if (self.is_stalled(row, policies, now) is not None) == stalled:
                        rows.append(row)
                        if len(rows) > limit:
                            break
        more = len(rows) > limit
        rows = rows[:limit]
        return WorkPage(rows, _encode_cursor(rows[-1].id) if more and rows else None)

    def stalled_report(self) -> list[dict]:
        """Stalled works, most overdue first."""
        with self._read() as session:
            policies, now = self._policies(session), self.clock()
            report = []
            for row in session.execute(select(WorkRow).order_by(WorkRow.id)).scalars():
                overdue = self.is_stalled(row, policies, now)
                if overdue is not None:
                    policy = policies.get(row.network_id) or Policy()
                    report.append({"work_id": row.id, "code": row.code, "title": row.title,
                                   "region": row.region, "network_id": row.network_id,
                                   "stage": row.stage,
                                   "since": row.stage_entered_at or row.last_change_at,
                                   "sla_days": policy.stage_sla_days[row.stage],
                                   "days_overdue": overdue})
        report.sort(key=lambda r: (-r["days_overdue"], r["work_id"]))
        return report

    def counts(self, **filters) -> dict:
        """Works per stage and per region, for the portal: of the works the filters select
        (the list's own filters), so the counts follow what the reader is looking at."""
        with self._read() as session:
            by_stage = dict(session.execute(self._filter_works(
                select(WorkRow.stage, func.count()), **filters).group_by(WorkRow.stage)).all())
            by_region = dict(session.execute(self._filter_works(
                select(WorkRow.region, func.count()), **filters).group_by(WorkRow.region)).all())
        return {"stage": by_stage, "region": by_region}

    def history(self, work_id: int) -> list[dict]:
        """The work's entries, and its network's policy changes since it was registered (a
        policy change appears in the history of every work of the network)."""
        work = self.get_work(work_id)
        with self._read() as session:
            rows = session.execute(select(LogEntry.entry).where(
                (LogEntry.work_id == work_id) | (LogEntry.type == "policy.set"))
                .order_by(LogEntry.seq)).scalars()
            entries = []
            for raw in rows:
                entry = json.loads(raw)
                if entry["type"] == "policy.set" and (
                        entry["data"].get("network_id") != work.network_id or
                        entry["at"] < work.registered_at):
                    continue
                entries.append(entry)
            return entries

    def _head_row(self):
        with DriverTransaction(self.engine, write=False) as conn:
            row = _HEAD_ROW.one(conn)
            return LogHeadRow(*row) if row else None

    def log_size(self) -> int:
        head = self._head_row()
        return head.size if head else 0

    def log_head(self) -> tuple[int, bytes]:
        """Size and root of the log as committed, from the stored frontier (no tree walk)."""
        head = self._head_row()
        if head is None:
            return 0, root_from_frontier([])
        frontier = [bytes.fromhex(h) for h in head.frontier.split(",") if h]
        return head.size, root_from_frontier(frontier)

    def entries(self, *, after: int = -1, limit: int = 100) -> list[bytes]:
        """Raw entry bytes in seq order, starting after `after`."""
        with self._read() as session:
            return list(session.execute(
                select(LogEntry.entry).where(LogEntry.seq > after)
                .order_by(LogEntry.seq).limit(limit)).scalars())

    # ------------------------------------------------------------------ SEACE import (opendata)
    # Owned by the open-data issue: lifecycle/opendata/seace.py reads the file and decides; this
    # command only validates, locks, loads, registers the organizations it names and appends.
    _SEACE_IMPORTS = Prepared(select(_LOG.c.entry).where(_LOG.c.type == bindparam("type"))
                              .order_by(_LOG.c.seq))

    def import_work(self, *, actor: Actor, process):
        """Bring in one works process read by `lifecycle.opendata.seace.read`: a new work at the
        stage the source shows, or the existing work with the same code linked to it; the
        source record is kept as a document and `work.imported` names the source ocid and the
        record's SHA-256. A process imported before changes nothing."""
        from lifecycle.opendata import seace

        _require(actor, "admin")
        code = check.text("code", process.code, max_len=64)
        title = check.text("title", process.title, max_len=300)
        buyer = check.text("buyer", process.buyer_name)
        ruc = check.ruc("buyer.tax_id", process.buyer_ruc)
        check.currency("currency", process.currency)
        check.amount("reference_amount", process.reference_amount, positive=True)
        supplier_ruc = None
        if process.award:
            # The supplier first, in its own transaction: ids are read from the tables, so two
            # organizations registered in one transaction would get the same id. A supplier
            # registered by an import that then fails is still a true record, found by RUC.
            party = process.award["supplier"]
            supplier_ruc = check.ruc("award.supplier.tax_id", party["tax_id"])
            supplier_name = check.text("award.supplier", party["name"])
            with self._write() as tx:
                if tx.organization_by_tax_id(supplier_ruc) is None:
                    self._register_organization(
                        tx, actor, name=supplier_name, kind="company", sector="private_sector",
                        tax_id=supplier_ruc, region=None, members=[])
        with self._write() as tx:
            earlier = seace.earlier_imports([json.loads(raw) for (raw,) in self._SEACE_IMPORTS(
                tx.conn, {"type": "work.imported"}).fetchall()])
            if process.source_ocid in earlier:
                work_id, _ = earlier[process.source_ocid]
                work = tx.work(work_id)
                return seace.ImportOutcome("unchanged", process.source_ocid, work.id, work.code,
                                           work.stage)
            sha256, size = self._store_blob(tx, process.source_json)
            existing = _WORK_BY_CODE.one(tx.conn, {"code": code})
            if existing:
                work = tx.work(existing[0])
                tx.emit("work.imported", actor, {
                    "work_id": work.id, "linked": True, "code": work.code,
                    "source_ocid": process.source_ocid, "source_sha256": process.source_sha256,
                    "document": seace.source_document(process, len(work.documents) + 1,
                                                      sha256, size)})
                return seace.ImportOutcome("linked", process.source_ocid, work.id, work.code,
                                           work.stage)
            network, region = seace.network_for(tx.all_networks(), process.region)
            if network is None:
                raise Invalid("region", f"no network oversees {process.region}")
            entity = tx.organization_by_tax_id(ruc) or self._register_organization(
                tx, actor, name=buyer, kind="public_entity", sector="government", tax_id=ruc,
                region=region, members=[])
            award = None
            if process.award:
                supplier = tx.organization_by_tax_id(supplier_ruc)
                award = {"supplier": supplier.name, "supplier_id": supplier.id,
                         "tax_id": supplier.tax_id, "amount": process.award["amount"],
                         "bidders": process.award["bidders"]}
            work_id = self._next_id(tx, _WORKS)
            process_checked = replace(process, code=code, title=title)
            tx.emit("work.imported", actor, seace.imported_data(
                process_checked, work_id=work_id, network_id=network.id, region=region,
                entity=entity, award=award,
                document=seace.source_document(process, 1, sha256, size)))
            return seace.ImportOutcome("imported", process.source_ocid, work_id, code,
                                       process.stage)
    # ------------------------------------------------------------------ end of SEACE import


def _actor(user: User) -> Actor:
    return Actor(id=user.id, username=user.username, role=user.role, entity=user.entity,
                 organization_id=user.organization_id)


def _id_list(field: str, value) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(type(v) is int and 1 <= v < 2**31 for v in value):
        raise Invalid(field, "must be a list of organization ids")
    return sorted(set(value))


def _party(field: str, value) -> dict:
    if not isinstance(value, dict):
        raise Invalid(field, "must be {name, tax_id}: an organization found by its RUC")
    return {"name": check.text(f"{field}.name", value.get("name")),
            "tax_id": check.ruc(f"{field}.tax_id", value.get("tax_id"))}


def _not_final(work: Work) -> None:
    if work.stage in FINAL_STAGES:
        raise Conflict(f"work {work.code} is {work.stage}")


def _award(award) -> dict:
    if not isinstance(award, dict):
        raise Invalid("award", "an award proposal needs {supplier, amount, bidders}")
    supplier = _party("award.supplier", award.get("supplier"))
    consortium = award.get("consortium") or []
    if not isinstance(consortium, list) or len(consortium) > 50:
        raise Invalid("award.consortium", "must be a list of {name, tax_id}")
    parties = [_party("award.consortium", p) for p in consortium]
    amount = check.amount("award.amount", award.get("amount"), positive=True)
    bidders = check.positive_int("award.bidders", award.get("bidders"), minimum=1, maximum=10_000)
    return {"supplier": supplier, "consortium": parties, "amount": amount, "bidders": bidders}


def _policy_value(key: str, value):
    if key == "require_member_signatures":  # DESIGN §4.3
        if not isinstance(value, bool):
            raise Invalid(key, "must be true or false")
        return value
    if key in ("min_approvals", "min_sectors"):
        return check.positive_int(key, value, minimum=1, maximum=100)
    if key in ("amendment_flag_pct", "paralysis_months", "appeal_days"):  # execution
        return check.positive_int(key, value, minimum=1, maximum=1000)
    if key in ("min_tender_days", "award_tolerance_pct", "low_tolerance_pct"):
        return check.positive_int(key, value, minimum=0, maximum=1000)
    if key == "required_sectors":
        if not isinstance(value, list):
            raise Invalid(key, "must be a list of sectors")
        for sector in value:
            check.choice(key, sector, SECTORS)
        return sorted(set(value))
    if key == "stage_sla_days":
        if not isinstance(value, dict):
            raise Invalid(key, "must map stages to days")
        merged = dict(DEFAULT_SLA_DAYS)
        for stage, days in value.items():
            check.choice(key, stage, tuple(DEFAULT_SLA_DAYS))
            merged[stage] = check.positive_int(f"{key}.{stage}", days, minimum=1, maximum=10_000)
        return merged
    raise Invalid(key, "is not a policy field")  # pragma: no cover - callers check the key


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"w{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("w"):
            raise ValueError
        last_id = int(raw[1:])
        if not 0 <= last_id < 2**31:
            raise ValueError
        return last_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("cursor", "is not a cursor this API gave out") from exc


__all__ = ["SYSTEM", "Actor", "ApplyOutcome", "Lifecycle", "LifecycleError", "hash_token"]
