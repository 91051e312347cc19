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


# Valid RUCs (check digit included) for the test organizations.
ENTITY_RUC = "20479569861"
ORGANIZATIONS = {
    # key: (name, kind, sector, tax_id)
    "entity": ("Gobierno Regional de Lambayeque", "public_entity", "government", ENTITY_RUC),
    "mesa": ("Mesa de Concertación de Mujeres", "association", "civil_society", None),
    "camara": ("Cámara de Comercio de Lambayeque", "association", "private_sector", None),
    "colegio": ("Colegio de Ingenieros del Perú", "association", "professional_association",
                None),
    "unprg": ("Universidad Nacional Pedro Ruiz Gallo", "university", "academia", None),
}
MEMBER_PROFILES = [
    # username, organization key, constituencies
    ("rosa", "mesa", ["women"]),
    ("jorge", "camara", []),
    ("ana", "colegio", ["youth"]),
    ("luis", "unprg", ["indigenous"]),
    ("carmen", "entity", []),
]
OTHER_ENTITY_RUC = "20148445061"
SUPPLIER = {"name": "Constructora Andina S.A.C.", "tax_id": "20100070970"}


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
    orgs: dict[str, int] = field(default_factory=dict)  # organization key -> id

    def user(self, username: str, role: str, organization_id: int | None = None,
             password: str | None = None, person_id: str | None = None) -> Actor:
        info, _ = self.lc.create_user(actor=self.admin, username=username, role=role,
                                      organization_id=organization_id, password=password,
                                      person_id=person_id)
        return Actor(info.id, info.username, info.role, info.entity, info.organization_id)

    def organization(self, key: str, name: str, kind: str, sector: str,
                     tax_id: str | None = None, **extra) -> int:
        org = self.lc.create_organization(actor=self.admin, name=name, kind=kind,
                                          sector=sector, tax_id=tax_id, **extra)
        self.orgs[key] = org.id
        return org.id

    def other_official(self, username: str = "otro") -> Actor:
        """An official of another public entity of the same region."""
        if "other_entity" not in self.orgs:
            self.organization("other_entity", "Municipalidad Provincial de Chiclayo",
                              "public_entity", "government", OTHER_ENTITY_RUC,
                              region="Lambayeque")
        return self.user(username, "official", self.orgs["other_entity"])

    def member(self, username: str, organization: str, constituencies=(),
               person_id: str | None = None) -> Actor:
        """A new member of the world's network, for the organization with that key."""
        actor = self.user(username, "member", person_id=person_id)
        self.lc.add_member(actor=self.admin, network_id=self.network_id, user_id=actor.id,
                           organization_id=self.orgs[organization],
                           constituencies=list(constituencies))
        self.members[username] = actor
        return actor

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

    def prepare(self, trigger: str) -> None:
        """What a trigger needs besides documents and sign-offs (DESIGN §2, wave 2): the bases
        integrated before an award; the appeal window over before the contract is signed."""
        from lifecycle import execution

        work = self.work
        if trigger == "award" and not execution.bases_integrated(work):
            self.lc.record_milestone(actor=self.official, work_id=self.work_id,
                                     code="bases_integrated", date=self.clock.now.date().isoformat())
        if trigger == "sign_contract":
            self.clock.advance(days=12)  # five business days, whatever the holidays

    def advance(self, trigger: str, documents: tuple[str, ...] = (), award: dict | None = None,
                signers: tuple[str, ...] = ("rosa", "jorge", "ana")):
        """Attach the documents, open the proposal, collect approvals and apply it."""
        self.prepare(trigger)
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
                                regions=["Lambayeque"])
    world = World(lc, clock, admin, None, {}, network.id, 0)  # type: ignore[arg-type]
    for key, (name, kind, sector, tax_id) in ORGANIZATIONS.items():
        world.organization(key, name, kind, sector, tax_id,
                           region="Lambayeque" if kind == "public_entity" else None)
    world.official = world.user("oficial", "official", world.orgs["entity"])
    for username, organization, constituencies in MEMBER_PROFILES:
        world.member(username, organization, constituencies)
    work = lc.register_work(actor=world.official, code="LAM-2026-001",
                            title="Mejoramiento de la carretera Chiclayo–Ferreñafe",
                            region="Lambayeque", reference_amount="12500000.00",
                            currency="PEN")
    world.work_id = work.id
    return world


@pytest.fixture
def world(lc, clock) -> World:
    return build_world(lc, clock)
