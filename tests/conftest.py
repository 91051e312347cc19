"""Shared fixtures: an engine on a fresh SQLite file, and on PostgreSQL when
LIFECYCLE_TEST_DATABASE_URL is set (CI sets it, so every `lc` test runs on both)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from lifecycle.bootstrap import init, open_lifecycle
from lifecycle.db import make_engine
from lifecycle.service import Actor, Lifecycle

PG_URL = os.environ.get("LIFECYCLE_TEST_DATABASE_URL")
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def fixtures_dir(sub: str) -> Path:
    """The public-standard fixtures beside the checkout; skip clearly when absent."""
    path = FIXTURES / sub
    if not path.exists():
        pytest.skip(f"../shared/fixtures/{sub} is missing (see shared/fixtures/SOURCES.md)")
    return path


class Clock:
    """The service's injectable clock: every call moves one second on; `advance` jumps."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def make_lifecycle(tmp_path: Path, backend: str, clock: Clock) -> Lifecycle:
    url = None
    if backend == "postgresql":
        reset_postgres(PG_URL)
        url = PG_URL
    return open_lifecycle(tmp_path / "data", url=url, clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def lc(tmp_path, backend, clock) -> Lifecycle:
    engine_lc = make_lifecycle(tmp_path, backend, clock)
    yield engine_lc
    engine_lc.engine.dispose()


@pytest.fixture
def pg_lc(tmp_path, clock) -> Lifecycle:
    if not PG_URL:
        pytest.skip("LIFECYCLE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    engine_lc = make_lifecycle(tmp_path, "postgresql", clock)
    yield engine_lc
    engine_lc.engine.dispose()


MEMBER_PROFILES = [
    # username, organization, sector, constituencies
    ("rosa", "Mesa de Concertación de Mujeres", "civil_society", ["women"]),
    ("jorge", "Cámara de Comercio de Lambayeque", "private_sector", []),
    ("ana", "Colegio de Ingenieros del Perú", "professional_association", ["youth"]),
    ("luis", "Universidad Nacional Pedro Ruiz Gallo", "academia", ["indigenous"]),
    ("carmen", "Gobierno Regional de Lambayeque", "government", []),
]


@dataclass
class World:
    """A network with one member per sector, an admin, an official and a registered work."""

    lc: Lifecycle
    clock: Clock
    admin: Actor
    official: Actor
    members: dict[str, Actor]
    network_id: int
    work_id: int
    other: dict[str, Actor] = field(default_factory=dict)

    def user(self, username: str, role: str, entity: str | None = None,
             password: str | None = None) -> Actor:
        info, _ = self.lc.create_user(actor=self.admin, username=username, role=role,
                                      entity=entity, password=password)
        return Actor(info.id, info.username, info.role, info.entity)

    def attach(self, kind: str, content: bytes | None = None, work_id: int | None = None):
        return self.lc.attach_document(
            actor=self.official, work_id=work_id or self.work_id, kind=kind,
            title=f"{kind} document", filename=f"{kind}.pdf",
            content=content or f"%PDF {kind} {self.clock.now}".encode(),
            media_type="application/pdf")

    def propose(self, trigger: str, award: dict | None = None, justification: str = "ready"):
        return self.lc.open_proposal(actor=self.official, work_id=self.work_id, trigger=trigger,
                                     justification=justification, award=award)

    def sign(self, proposal_id: int, *names: str, decision: str = "approve",
             reason: str | None = None):
        for name in names:
            self.lc.record_signoff(actor=self.members[name], work_id=self.work_id,
                                   proposal_id=proposal_id, decision=decision, reason=reason)

    def apply(self, proposal_id: int):
        return self.lc.apply_proposal(actor=self.official, work_id=self.work_id,
                                      proposal_id=proposal_id)

    def advance(self, trigger: str, documents: tuple[str, ...] = (), award: dict | None = None,
                signers: tuple[str, ...] = ("rosa", "jorge", "ana")):
        """Attach the documents, open the proposal, collect approvals and apply it."""
        for kind in documents:
            self.attach(kind)
        proposal = self.propose(trigger, award=award)
        self.sign(proposal.id, *signers)
        outcome = self.apply(proposal.id)
        assert outcome.applied, [r for r in outcome.results if not r.ok]
        return outcome

    @property
    def work(self):
        return self.lc.get_work(self.work_id)


def build_world(lc: Lifecycle, clock: Clock) -> World:
    admin_token = init(lc)
    admin = lc.authenticate_token(admin_token)
    network = lc.create_network(actor=admin, name="Red de Integridad Lambayeque",
                                region="Lambayeque")
    world = World(lc, clock, admin, None, {}, network.id, 0)  # type: ignore[arg-type]
    world.official = world.user("oficial", "official", "Gobierno Regional de Lambayeque")
    for username, organization, sector, constituencies in MEMBER_PROFILES:
        member = world.user(username, "member")
        lc.add_member(actor=admin, network_id=network.id, user_id=member.id,
                      organization=organization, sector=sector, constituencies=constituencies)
        world.members[username] = member
    work = lc.register_work(actor=world.official, code="LAM-2026-001",
                            title="Mejoramiento de la carretera Chiclayo–Ferreñafe",
                            entity=None, region="Lambayeque", network_id=network.id,
                            reference_amount="12500000.00", currency="PEN")
    world.work_id = work.id
    return world


@pytest.fixture
def world(lc, clock) -> World:
    return build_world(lc, clock)
