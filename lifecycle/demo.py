"""The demo dataset: `lifecycle demo` and `lifecycle serve --demo`.

Seven regional integrity networks oversee fifty-four public works whose histories span the last
eighteen months. Everything goes through the service commands, on a simulated clock that the
demo moves forward, so the log, the guards (tender period, stale approvals, red flags) and the
stalled-works report behave exactly as they would have if people had done it day by day.

How the time works: each work has a *story* (a generator) that yields the moment of its next
step and then performs it. A scheduler runs every story's steps in time order, moving the clock
to each step's moment, so the stories interleave in the one log as real ones would. Each story is
planned backwards from the real today: its last stage change lies `age` days before today, which
is what decides whether the work is stalled now.
"""

from __future__ import annotations

import heapq
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from lifecycle import bootstrap, db, demo_execution
from lifecycle.demo_data import (
    BLOCK_LIFTED,
    BLOCK_REASONS,
    CANCEL_REASONS,
    COMPTROLLER,
    CONFLICT_STATEMENTS,
    DOCUMENT_TITLES,
    FIRST_NAMES,
    JUSTIFICATIONS,
    NEWSROOM,
    OBSERVATIONS,
    REGIONS,
    REVISED,
    SCHOOL_PATRONS,
    SURNAMES,
    SUSPEND_REASONS,
    VOID_REPORT,
    WORK_TYPES,
    Region,
)
from lifecycle.demo_showcase import showcase
from lifecycle.errors import Conflict
from lifecycle.evidence.signing import Ed25519Signer
from lifecycle.model import Proposal
from lifecycle.service import SYSTEM, Actor, Lifecycle
from lifecycle.states import spec_for
from lifecycle.validation import ruc_check_digit

SEED = 2024_06_01
SPAN_DAYS = 548  # the networks are set up about eighteen months before today
LATEST_START = 535  # no work is registered earlier than this many days before today
# Office hours in Lima (UTC−5, no daylight saving): 08:00–17:00 local.
OFFICE_START_UTC, OFFICE_HOURS = 13, 9
TICK = timedelta(seconds=23)  # each command takes a little time
DECISION_DAYS = 20  # a stage change is prepared and decided in about this many days
MIN_APPROVALS = 3  # the default policy's quorum; red flags add one each
RESUBMITTED = " Se incorpora lo que motivó el bloqueo de la propuesta anterior."
TENDER_DAYS_CUSCO = 20  # the Cusco network adopted a longer minimum tender period


class DemoError(RuntimeError):
    """The demo's plan did not play out as written: a bug in the demo, not in the data."""


class SimulatedClock:
    """The service's clock during the demo: the scheduler moves it; each call ticks on."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        self.now += TICK
        return self.now

    def move_to(self, moment: datetime) -> None:
        if moment > self.now:
            self.now = moment


# --------------------------------------------------------------------------------- the plans
# Each scenario: the stage a work ends in; its route, the triggers applied in order, each with
# optional incidents after a colon, joined by "+"; what is going on at the end; and how many
# days ago its last stage change was (a range: beyond the stage's service level it is stalled).
#
# Incidents: no_civil_society (refused: no approval from civil society; then one comes),
# missing_doc (refused: a required document is missing; once it is attached the approvals are
# stale and must be given again), stale (a revised document makes the approvals stale), block
# (refused: a standing block; its author withdraws it), withdrawn (a member blocks; the official
# withdraws the proposal, attaches what was missing and opens a new one), observations (filed
# and answered), observations_refused (refused: one observation unanswered), conflict (a member
# declares a conflict of interest), early (award refused: the minimum tender period has not
# passed), single_bidder and over_reference (red flags: one more approval is needed).
# Endings: pending (the next proposal open, short of approvals), blocked (the same with a
# standing block), refused (the same after a refused apply), observations (left unanswered).
SCENARIOS: tuple[tuple[str, str, str | None, tuple[int, int]], ...] = (
    ("design", "", None, (5, 40)),
    ("design", "", "pending", (20, 90)),
    ("design", "", None, (200, 320)),
    ("design", "", "blocked", (190, 260)),
    ("design", "", None, (60, 150)),
    ("design", "", "pending", (30, 120)),
    ("design", "", None, (10, 80)),
    ("technical_file", "approve_design", "observations", (10, 60)),
    ("technical_file", "approve_design:no_civil_society", None, (30, 100)),
    ("technical_file", "approve_design", "observations", (140, 250)),
    ("technical_file", "approve_design:block", None, (130, 200)),
    ("technical_file", "approve_design", "refused", (20, 80)),
    ("technical_file", "approve_design publish_tender declare_void:block", None, (15, 60)),
    ("technical_file", "approve_design:stale", None, (40, 110)),
    ("technical_file", "approve_design:conflict", None, (5, 50)),
    ("technical_file", "approve_design:missing_doc", "observations", (60, 110)),
    ("tender", "approve_design publish_tender:observations", None, (5, 40)),
    ("tender", "approve_design publish_tender", "pending", (18, 45)),
    ("tender", "approve_design:no_civil_society publish_tender", None, (70, 120)),
    ("tender", "approve_design publish_tender:missing_doc", "refused", (20, 50)),
    ("tender", "approve_design publish_tender declare_void publish_tender:observations", None,
     (10, 40)),
    ("tender", "approve_design publish_tender:conflict+block", None, (3, 30)),
    ("tender", "approve_design publish_tender suspend resume", None, (5, 40)),
    ("award", "approve_design publish_tender award:early", None, (3, 20)),
    ("award", "approve_design publish_tender award:single_bidder", "pending", (5, 25)),
    ("award", "approve_design publish_tender award", None, (35, 70)),
    ("award", "approve_design publish_tender:observations award:over_reference", None, (2, 25)),
    ("award", "approve_design publish_tender declare_void publish_tender award", None, (5, 28)),
    ("execution", "approve_design:withdrawn publish_tender award sign_contract", None,
     (30, 200)),
    ("execution", "approve_design publish_tender award:single_bidder sign_contract", None,
     (60, 250)),
    ("execution", "approve_design:missing_doc publish_tender award sign_contract", None,
     (20, 150)),
    ("execution", "approve_design publish_tender:observations_refused award sign_contract",
     None, (40, 180)),
    ("execution", "approve_design publish_tender award:early sign_contract", None, (10, 120)),
    ("execution", "approve_design publish_tender award sign_contract suspend resume", None,
     (15, 60)),
    ("execution", "approve_design publish_tender declare_void publish_tender award "
                  "sign_contract", None, (20, 90)),
    ("execution", "approve_design publish_tender award sign_contract:block", None, (50, 200)),
    ("execution", "approve_design publish_tender award:conflict+over_reference sign_contract",
     None, (30, 160)),
    ("execution", "approve_design:conflict publish_tender award sign_contract", None,
     (80, 220)),
    ("execution", "approve_design publish_tender award sign_contract", "refused", (150, 260)),
    ("closure", "approve_design publish_tender award sign_contract close", None, (5, 40)),
    ("closure", "approve_design publish_tender:observations award:conflict+single_bidder "
                "sign_contract close", None, (10, 60)),
    ("closure", "approve_design:no_civil_society publish_tender award sign_contract "
                "close:stale", None, (5, 30)),
    ("closure", "approve_design publish_tender award:early sign_contract close:missing_doc",
     None, (5, 30)),
    ("closure", "approve_design publish_tender award sign_contract suspend resume close", None,
     (3, 20)),
    ("closure", "approve_design:conflict publish_tender award sign_contract:block close", None,
     (5, 40)),
    ("closure", "approve_design publish_tender:observations_refused award:over_reference "
                "sign_contract close", None, (5, 30)),
    ("closure", "approve_design publish_tender:withdrawn award sign_contract close", None,
     (20, 80)),
    ("closure", "approve_design publish_tender award sign_contract close:block", None, (3, 25)),
    ("suspended", "approve_design publish_tender award sign_contract suspend", None,
     (190, 260)),
    ("suspended", "approve_design suspend", None, (20, 90)),
    ("suspended", "approve_design publish_tender suspend", None, (40, 120)),
    ("cancelled", "cancel", None, (50, 300)),
    ("cancelled", "approve_design cancel", None, (10, 200)),
    ("cancelled", "approve_design publish_tender declare_void cancel", None, (30, 150)),
)

# Days a work spends in its stage before each trigger: (shortest, longest) when planned, and
# the floor when a long route must be squeezed into eighteen months.
STAGE_DAYS: dict[str, tuple[int, int, int]] = {
    "approve_design": (30, 90, 20),
    "publish_tender": (40, 100, 25),
    "award": (25, 40, 25),  # the minimum tender period is 15 days (20 in Cusco)
    "declare_void": (30, 45, 25),
    "sign_contract": (12, 24, 12),  # the buena pro is consented after five business days
    "close": (120, 260, 60),
    "suspend": (15, 60, 10),
    "resume": (30, 90, 20),
    "cancel": (20, 80, 15),
}
EXTRA_DOCUMENTS = {"approve_design": "needsAssessment", "publish_tender": "billOfQuantity",
                   "close": "finalAudit"}  # attached to half the dossiers, though not required
NEXT_TRIGGER = {"design": "approve_design", "technical_file": "publish_tender",
                "tender": "award", "award": "sign_contract", "execution": "close"}


@dataclass
class Plan:
    final: str
    route: list[tuple[str, str | None, bool]]  # (trigger, incident, conflict declared)
    ending: str | None
    age: int  # days between the last stage change and today
    days: list[int]  # days in the stage before each trigger of the route

    @property
    def total_days(self) -> int:
        return self.age + sum(self.days)


def make_plans(rng: random.Random) -> list[Plan]:
    """The fifty-four works' plans, from the scenarios and the seeded random numbers."""
    plans = []
    for final, route_text, ending, (age_lo, age_hi) in SCENARIOS:
        route = []
        for token in route_text.split():
            trigger, _, incidents = token.partition(":")
            others = [i for i in incidents.split("+") if i and i != "conflict"]
            route.append((trigger, others[0] if others else None, "conflict" in incidents))
        days = [rng.randint(*STAGE_DAYS[t][:2]) for t, _, _ in route]
        plan = Plan(final, route, ending, rng.randint(age_lo, age_hi), days)
        _squeeze(plan)
        plans.append(plan)
    return plans


def _squeeze(plan: Plan) -> None:
    """Shorten the longest stages (never below their floor) until the route fits the span."""
    while plan.total_days > LATEST_START:
        slack = [(d - STAGE_DAYS[t][2], i)
                 for i, ((t, _, _), d) in enumerate(zip(plan.route, plan.days))]
        room, i = max(slack)
        if room <= 0:
            raise DemoError(f"route {plan.route} cannot fit in {LATEST_START} days")
        plan.days[i] -= min(room, plan.total_days - LATEST_START)


# --------------------------------------------------------------------------------- people
@dataclass
class Person:
    actor: Actor
    token: str
    organization: str | None = None
    sector: str | None = None


@dataclass
class RegionSetup:
    region: Region
    network_id: int
    officials: dict[str, Person]  # entity -> its official
    members: list[Person]
    tender_days: int
    work_count: dict[int, int] = field(default_factory=dict)  # year -> works registered


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


# --------------------------------------------------------------------------------- documents
def _pdf(lines: list[str]) -> bytes:
    """A small, valid one-page PDF showing the lines (Helvetica, WinAnsi encoding)."""

    def literal(line: str) -> str:
        raw = line.encode("cp1252", "replace").decode("latin-1")
        return "(" + raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"

    text = "BT /F1 11 Tf 56 790 Td 16 TL " + " ".join(f"{literal(l)} Tj T*" for l in lines)
    stream = (text + " ET").encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream +
        b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --------------------------------------------------------------------------------- the builder
class _Demo:
    def __init__(self, lc: Lifecycle, clock: SimulatedClock, today: datetime):
        self.lc = lc
        self.clock = clock
        self.today = today  # midnight UTC that starts the real today: nothing happens after
        self.rng = random.Random(SEED)
        self.people: list[Person] = []
        self.used_usernames: set[str] = set()
        self.used_titles: set[str] = set()
        self.regions: list[RegionSetup] = []
        self.admin: Actor | None = None
        self.organizations: dict[str, int] = {}  # name -> organization id
        self.supplier_rucs: dict[str, str] = {}  # supplier name -> its RUC
        self.rucs: set[str] = set()
        self.signers: dict[int, Ed25519Signer] = {}  # member id -> key held in memory only

    def signer(self, person: Person) -> Ed25519Signer:
        """The member's signing key, registered at their first sign-off; the private key is
        never stored (DESIGN §4.3: keys never in the database)."""
        if person.actor.id not in self.signers:
            self.signers[person.actor.id] = Ed25519Signer(self.lc, person.actor)
        return self.signers[person.actor.id]

    def ruc(self) -> str:
        """A fresh RUC of a legal person (prefix 20) with a valid check digit."""
        while True:
            first_ten = "20" + "".join(str(self.rng.randrange(10)) for _ in range(8))
            ruc = first_ten + str(ruc_check_digit(first_ten))
            if ruc not in self.rucs:
                self.rucs.add(ruc)
                return ruc

    def organization(self, name: str, kind: str, sector: str, region: str | None = None) -> int:
        """The organization with this name, registered the first time it is named."""
        if name not in self.organizations:
            tax_id = self.ruc() if kind in ("public_entity", "company") else None
            org = self.lc.create_organization(actor=self.admin, name=name, kind=kind,
                                              sector=sector, tax_id=tax_id, region=region)
            self.organizations[name] = org.id
        return self.organizations[name]

    def day(self, days_before_today: float, rng: random.Random) -> datetime:
        """A moment in office hours on the day that lies so many days before today."""
        return self.office_hours(self.today - timedelta(days=days_before_today), rng)

    @staticmethod
    def office_hours(moment: datetime, rng: random.Random) -> datetime:
        """A random moment in office hours on the same (UTC) day as `moment`."""
        opening = datetime.combine(moment.date(), time(OFFICE_START_UTC), tzinfo=timezone.utc)
        return opening + timedelta(seconds=rng.randrange(OFFICE_HOURS * 3600))

    # ---------------------------------------------------------------- users and networks
    def _username(self, rng: random.Random) -> str:
        while True:
            name = f"{_ascii(rng.choice(FIRST_NAMES))}.{_ascii(rng.choice(SURNAMES))}"
            if name not in self.used_usernames:
                self.used_usernames.add(name)
                return name

    def _user(self, role: str, organization_id: int | None = None) -> Person:
        info, token = self.lc.create_user(actor=self.admin, username=self._username(self.rng),
                                          role=role, organization_id=organization_id)
        person = Person(Actor(info.id, info.username, info.role, info.entity,
                              info.organization_id), token)
        self.people.append(person)
        return person

    def set_up(self) -> None:
        token = bootstrap.init(self.lc)
        if token is None:  # the folder was initialised but has no works: add a demo admin
            info, token = self.lc.create_user(actor=SYSTEM, username="demo-admin", role="admin")
        else:
            info = next(u for u in self.lc.users() if u.role == "admin")
        self.admin = Actor(info.id, info.username, info.role, info.entity)
        self.people.append(Person(self.admin, token))
        self._user("auditor", self.organization(COMPTROLLER, "public_entity", "government"))
        self._user("auditor", self.organization(NEWSROOM, "ngo", "civil_society"))
        for region in REGIONS:
            self.regions.append(self._set_up_region(region))

    def _set_up_region(self, region: Region) -> RegionSetup:
        network = self.lc.create_network(actor=self.admin, regions=[region.name],
                                         name=f"Red de Integridad de {region.name}")
        tender_days = 15
        # Only signed approvals and blocks count in the demo (DESIGN §4.3).
        self.lc.set_policy(actor=self.admin, network_id=network.id,
                           require_member_signatures=True)
        if region.name == "Cusco":
            tender_days = TENDER_DAYS_CUSCO
            self.lc.set_policy(actor=self.admin, network_id=network.id,
                               min_tender_days=TENDER_DAYS_CUSCO)
        def entity(name: str) -> int:
            return self.organization(name, "public_entity", "government", region.name)

        officials = {region.government: self._user("official", entity(region.government))}
        if region.municipality:
            officials[region.municipality] = self._user("official", entity(region.municipality))
        seats = [(region.government, "government", ())]
        seats += [(org, "civil_society", groups) for org, groups in region.civil_society]
        seats += [(region.chamber, "private_sector", ()),
                  (region.engineers, "professional_association",
                   ("youth",) if self.rng.random() < 0.3 else ()),
                  (region.university, "academia", ())]
        members = []
        kinds = {"government": "public_entity", "civil_society": "association",
                 "private_sector": "association", "professional_association": "association",
                 "academia": "university"}
        for organization, sector, groups in seats:
            person = self._user("member")
            person.organization, person.sector = organization, sector
            organization_id = self.organization(organization, kinds[sector], sector,
                                                region.name if sector == "government" else None)
            self.lc.add_member(actor=self.admin, network_id=network.id,
                               user_id=person.actor.id, organization_id=organization_id,
                               constituencies=list(groups))
            members.append(person)
        return RegionSetup(region, network.id, officials, members, tender_days)

    # ---------------------------------------------------------------- the works
    def stories(self) -> list[_Story]:
        plans = make_plans(self.rng)
        self.rng.shuffle(plans)
        stories = []
        for index, plan in enumerate(plans):
            setup = self.regions[index % len(self.regions)]
            rng = random.Random(f"{SEED}/{index}")
            entity = rng.choice(list(setup.officials))
            stories.append(_Story(self, setup, entity, plan, rng))
        # One more work whose history shows the wave-2 rules (lifecycle/demo_showcase.py).
        stories.append(showcase(self, _Story))
        return stories

    def run(self) -> None:
        """Play every story's steps in time order on the simulated clock."""
        queue: list[tuple[datetime, int, Iterator[datetime]]] = []
        for number, story in enumerate(self.stories()):
            steps = story.play()
            heapq.heappush(queue, (next(steps), number, steps))
        while queue:
            moment, number, steps = heapq.heappop(queue)
            self.clock.move_to(moment)
            following = next(steps, None)
            if following is not None:
                heapq.heappush(queue, (following, number, steps))
        demo_execution.record_deadlines(self)  # the worker's time-driven moves (wave 2)


@dataclass
class _Decision:
    """A stage change being prepared: the proposal and who signs, as the story goes on."""

    trigger: str
    incident: str | None
    proposal: Proposal | None = None
    justification: str = ""
    award: dict | None = None
    needed: int = MIN_APPROVALS
    documents: list[str] = field(default_factory=list)
    held: str | None = None  # the required document forgotten at first
    unanswered: list[tuple[int, str]] = field(default_factory=list)
    first: list[Person] = field(default_factory=list)
    blocker: Person | None = None
    block_reason: str = ""
    clarification: str = ""


class _Story:
    """One work's history, step by step. `play` yields the moment of each next step."""

    def __init__(self, demo: _Demo, setup: RegionSetup, entity: str, plan: Plan,
                 rng: random.Random):
        self.demo, self.lc, self.setup, self.plan, self.rng = demo, demo.lc, setup, plan, rng
        self.entity = entity
        self.official = setup.officials[entity].actor
        self.last = demo.clock.now
        self.span = (self.last, self.last)
        self.conflicted: set[int] = set()
        self.work_id = 0
        self.code = ""
        self.title = ""
        self.kind = WORK_TYPES[0]
        self.reference_cents = 0
        self.place = ""
        self.reports = 0
        self.supplier: str | None = None

    # ---------------------------------------------------------------- time
    def at(self, fraction: float) -> datetime:
        """A moment in the current stage's span. Fractions below one half fall in the time
        before the decision; from one half on, in the decision window: the stage's last
        DECISION_DAYS (or its second half, if shorter), where documents, proposal, sign-offs
        and the apply happen, as they would when a stage change is being prepared."""
        start, end = self.span
        window = min(timedelta(days=DECISION_DAYS), (end - start) / 2)
        if fraction < 0.5:
            moment = start + (end - window - start) * (fraction * 2)
        else:
            moment = end - window + window * ((fraction - 0.5) * 2)
        return self._moment(moment)

    def after(self, days: float) -> datetime:
        """A moment so many days after the current stage began."""
        return self._moment(self.span[0] + timedelta(days=days))

    def _moment(self, moment: datetime) -> datetime:
        moment = self.demo.office_hours(moment, self.rng)
        # Steps of one work happen in order, a few minutes apart at least.
        moment = max(moment, self.last + timedelta(minutes=self.rng.randint(6, 50)))
        self.last = moment
        return moment

    # ---------------------------------------------------------------- the story
    def play(self) -> Iterator[datetime]:
        plan = self.plan
        start = self.demo.day(plan.total_days, self.rng)
        self.last = start
        yield start
        self._register()
        remaining = plan.total_days
        for (trigger, incident, conflict), days in zip(plan.route, plan.days):
            remaining -= days
            self.span = (self.last, self.demo.day(remaining, self.rng))
            yield from self._step(trigger, incident, conflict)
        self.span = (self.last, self.demo.day(1, self.rng))
        yield from self._ending()

    def _register(self) -> None:
        region = self.setup.region
        while True:
            self.kind = self.rng.choice(WORK_TYPES)
            place, other = self.rng.sample(region.places, 2)
            title = self.rng.choice(self.kind.titles).format(
                place=place, other=other, river=self.rng.choice(region.rivers),
                number=self.rng.randint(10000, 99999), patron=self.rng.choice(SCHOOL_PATRONS))
            if title not in self.demo.used_titles:
                break
        self.demo.used_titles.add(title)
        self.place, self.title = place, title
        year = self.demo.clock.now.year
        count = self.setup.work_count.get(year, 0) + 1
        self.setup.work_count[year] = count
        self.code = f"{region.code}-{year}-{count:03d}"
        low, high = self.kind.amount_range
        self.reference_cents = self.rng.randrange(low * 100, high * 100)
        work = self.lc.register_work(
            actor=self.official, code=self.code, title=title, region=region.name,
            reference_amount=_money(self.reference_cents), currency="PEN")
        self.work_id = work.id

    def _step(self, trigger: str, incident: str | None, conflict: bool) -> Iterator[datetime]:
        """One stage change: what happens in the stage, the proposal, its sign-offs, the
        incident (a refusal and its fix) if any, and the apply."""
        if trigger == "suspend":  # no sign-off: the official suspends, stating the reason
            yield self.at(0.95)
            demo_execution.before_suspension(self)  # progress reported so far (wave 2)
            proposal = self._propose("suspend", self.rng.choice(SUSPEND_REASONS))
            yield self.at(1.0)
            self._apply(proposal.id, expect=True)
            return
        if conflict:
            yield self.at(0.1)
            member = self.rng.choice(self._eligible(sectors=("private_sector",)) or
                                     self._eligible(exclude_civil=True))
            self.lc.declare_conflict(actor=member.actor, work_id=self.work_id,
                                     statement=self.rng.choice(CONFLICT_STATEMENTS[trigger]))
            self.conflicted.add(member.actor.id)
        d = _Decision(trigger, incident)
        if incident in ("observations", "observations_refused"):
            d.unanswered = yield from self._observations(2 if incident == "observations" else 1)
            if incident == "observations":
                for number, answer in d.unanswered:
                    yield self.at(self.rng.uniform(0.35, 0.5))
                    self._answer(number, answer)
                d.unanswered = []
        if trigger == "close":  # monthly progress reports while the work is built
            months = (self.span[1] - self.span[0]).days // 30 - 1
            for month in range(1, min(months, 3) + 1):
                yield self.after(30 * month)
                self._progress_report()

        d.documents = list(spec_for(trigger).documents)
        d.held = d.documents.pop() if incident == "missing_doc" else None
        if trigger in EXTRA_DOCUMENTS and self.rng.random() < 0.5:
            d.documents.insert(0, EXTRA_DOCUMENTS[trigger])
        # An early award is prepared a few days into the tender, before its minimum period.
        yield self.after(4) if incident == "early" else self.at(0.55)
        for kind in d.documents:
            self._attach(kind, void=trigger == "declare_void")
        demo_execution.before_proposal(self, trigger)  # tender calendar (wave 2)
        if trigger == "award":  # the bases were integrated before the offers were evaluated
            self.lc.record_milestone(actor=self.official, work_id=self.work_id,
                                     code="bases_integrated",
                                     date=self.demo.clock.now.date().isoformat())
        d.award = self._award_data(incident) if trigger == "award" else None
        d.justification = JUSTIFICATIONS[trigger]
        if trigger == "cancel":
            d.justification += " " + self.rng.choice(CANCEL_REASONS)
        yield self.after(5) if incident == "early" else self.at(0.62)
        d.proposal = self._propose(trigger, d.justification, d.award)
        d.needed = MIN_APPROVALS + len(d.proposal.red_flags)

        yield from self._first_round(d)
        yield from self._refuse_and_fix(d)
        yield self.at(1.0)
        self._apply(d.proposal.id, expect=True)
        if trigger == "award":
            self.supplier = d.award["supplier"]["name"]

    def _first_round(self, d: _Decision) -> Iterator[datetime]:
        """The approvals the proposal first gets, and the block, if the incident has one."""
        if d.incident in ("block", "withdrawn"):
            d.blocker = self.rng.choice(self._eligible(exclude_civil=True))
            d.block_reason, d.clarification = self.rng.choice(BLOCK_REASONS[d.trigger])
            # Where few members can approve, the blocker approves too once the block is lifted.
            d.first = self._pick(min(d.needed, len(self._eligible()) - 1), exclude=[d.blocker])
        elif d.incident == "no_civil_society":
            d.first = self._pick(d.needed, civil=False)
        elif d.incident == "single_bidder":
            d.first = self._pick(d.needed - 1)  # as if there were no red flag: one short
        else:
            d.first = self._pick(d.needed)
        for n, person in enumerate(d.first):
            if d.incident == "early":
                yield self.after(5 + 3 * n / len(d.first))
            else:
                yield self.at(0.66 + 0.12 * n / len(d.first))
            self._sign(d.proposal.id, person)
        if d.blocker:
            yield self.at(0.8)
            self._sign(d.proposal.id, d.blocker, "block", d.block_reason)

    def _refuse_and_fix(self, d: _Decision) -> Iterator[datetime]:
        """The official applies too soon and is refused; then what fixes it happens."""
        pid = d.proposal.id
        if d.incident == "early":
            yield self.after(9)
            self._apply(pid, expect=False, guard="tender_period")
        elif d.incident == "no_civil_society":
            yield self.at(0.84)
            self._apply(pid, expect=False, guard="quorum")
            yield self.at(0.9)
            self._sign(pid, self._pick(1, exclude=d.first, only_civil=True)[0])
        elif d.incident == "single_bidder":
            yield self.at(0.84)
            self._apply(pid, expect=False, guard="quorum")
            yield self.at(0.9)
            self._sign(pid, self._pick(1, exclude=d.first)[0])
        elif d.incident == "missing_doc":
            yield self.at(0.84)
            self._apply(pid, expect=False, guard="documents")
            yield self.at(0.86)
            self._attach(d.held)
            yield self.at(0.87)
            self._apply(pid, expect=False, guard="quorum")  # the approvals are now stale
            yield from self._approve_again(pid, d.first)
        elif d.incident == "stale":
            yield self.at(0.84)
            self._attach(d.documents[-1], revised=True)
            yield self.at(0.86)
            self._apply(pid, expect=False, guard="quorum")
            yield from self._approve_again(pid, d.first)
        elif d.incident == "block":
            yield self.at(0.83)
            self._apply(pid, expect=False, guard="blocks")
            yield self.at(0.86)
            self._attach("clarifications", title=d.clarification)
            yield self.at(0.89)
            self._sign(pid, d.blocker, "withdraw", BLOCK_LIFTED)
            yield from self._approve_again(pid, d.first)
            if len(d.first) < d.needed:
                yield self.at(0.99)
                self._sign(pid, d.blocker)
        elif d.incident == "withdrawn":  # the official takes the proposal back and revises
            yield self.at(0.83)
            self.lc.withdraw_proposal(actor=self.official, work_id=self.work_id,
                                      proposal_id=pid)
            yield self.at(0.86)
            self._attach("clarifications", title=d.clarification)
            yield self.at(0.88)
            d.proposal = self._propose(d.trigger, d.justification + RESUBMITTED, d.award)
            # The block stands against the trigger: it carried over to the new proposal, and
            # only its author lifts it.
            yield self.at(0.885)
            self._sign(d.proposal.id, d.blocker, "withdraw", BLOCK_LIFTED)
            yield from self._approve_again(d.proposal.id, d.first)
            if len(d.first) < d.needed:
                yield self.at(0.99)
                self._sign(d.proposal.id, d.blocker)
        elif d.incident == "observations_refused":
            yield self.at(0.84)
            self._apply(pid, expect=False, guard="observations_answered")
            for number, answer in d.unanswered:
                yield self.at(0.9)
                self._answer(number, answer)
            # The answers changed the dossier: the approvals given before them are stale.
            yield from self._approve_again(pid, d.first)

    def _ending(self) -> Iterator[datetime]:
        ending, stage = self.plan.ending, self.plan.final
        if stage == "execution":
            months = (self.span[1] - self.span[0]).days // 30
            for month in range(1, min(months, 4) + 1):
                yield self.after(30 * month)
                self._progress_report()
            yield from demo_execution.execution_extras(self)  # a flagged amendment (wave 2)
        if ending == "observations":
            yield from self._observations(self.rng.randint(1, 2))
        elif ending in ("pending", "blocked", "refused"):
            trigger = NEXT_TRIGGER[stage]
            documents = list(spec_for(trigger).documents)
            if ending == "refused":
                documents.pop()
            yield self.at(0.6)
            for kind in documents:
                self._attach(kind)
            award = None
            if trigger == "award":
                award = self._award_data(self.rng.choice(["single_bidder", "over_reference",
                                                          None]))
            yield self.at(0.65)
            proposal = self._propose(trigger, JUSTIFICATIONS[trigger], award)
            for n, person in enumerate(self._pick(self.rng.randint(1, 2))):
                yield self.at(0.7 + 0.05 * n)
                self._sign(proposal.id, person)
            if ending == "blocked":
                yield self.at(0.85)
                blocker = self.rng.choice(self._eligible(exclude_civil=True))
                reason, _ = self.rng.choice(BLOCK_REASONS[trigger])
                self._sign(proposal.id, blocker, "block", reason)
            if ending == "refused":
                yield self.at(0.9)
                self._apply(proposal.id, expect=False, guard="documents")

    # ---------------------------------------------------------------- commands
    def _observations(self, count: int) -> Iterator[datetime]:
        """Members file observations on the technical file; returns [(number, answer)]."""
        filed = []
        work = self.lc.get_work(self.work_id)
        for text, answer in self.rng.sample(OBSERVATIONS, count):
            yield self.at(self.rng.uniform(0.1, 0.3))
            member = self.rng.choice(self._eligible())
            self.lc.file_observation(actor=member.actor, work_id=self.work_id, text=text)
            filed.append((len(work.observations) + len(filed) + 1, answer))
        return filed

    def _answer(self, number: int, text: str) -> None:
        self.lc.answer_observation(actor=self.official, work_id=self.work_id,
                                   observation_id=number, text=text)

    def _attach(self, kind: str, *, void: bool = False, revised: bool = False,
                title: str | None = None) -> None:
        if title is None:
            title = VOID_REPORT if void else \
                self.rng.choice(DOCUMENT_TITLES[kind]).format(n=self.reports)
        if revised:
            title += REVISED
        moment = self.demo.clock.now.strftime("%d/%m/%Y")
        lines = [self.entity, title,
                 f"{self.code} – {self.title}"[:110], f"Fecha: {moment}",
                 f"Monto de referencia: S/ {_money(self.reference_cents)}",
                 "Documento generado para la demostración de lifecycle."]
        self.lc.attach_document(actor=self.official, work_id=self.work_id, kind=kind,
                                title=title, filename=f"{self.code}-{_ascii(title)[:60]}.pdf",
                                content=_pdf(lines), media_type="application/pdf")

    def _progress_report(self) -> None:
        self.reports += 1
        self._attach("physicalProgressReport")
        demo_execution.report_valuation(self)  # the month's valuation (wave 2)

    def _award_data(self, incident: str | None) -> dict:
        if incident == "over_reference":
            percent = self.rng.randint(11_200, 11_800)
        else:
            percent = self.rng.randint(9_000, 9_900)  # within low_tolerance_pct
        supplier = self.rng.choice(self.kind.suppliers).format(
            place=self.place, region=self.setup.region.name, surname=self.rng.choice(SURNAMES),
            river=self.rng.choice(self.setup.region.rivers))
        rucs = self.demo.supplier_rucs
        if supplier not in rucs:
            rucs[supplier] = self.demo.ruc()
        return {"supplier": {"name": supplier, "tax_id": rucs[supplier]},
                "amount": _money(self.reference_cents * percent // 10_000),
                "bidders": 1 if incident == "single_bidder" else self.rng.randint(2, 7)}

    def _propose(self, trigger: str, justification: str, award: dict | None = None):
        return self.lc.open_proposal(actor=self.official, work_id=self.work_id, trigger=trigger,
                                     justification=justification, award=award)

    def _sign(self, proposal_id: int, person: Person, decision: str = "approve",
              reason: str | None = None) -> None:
        # Every demo sign-off is signed with the member's own Ed25519 key (DESIGN §4.3).
        self.demo.signer(person).signoff(work_id=self.work_id, proposal_id=proposal_id,
                                         decision=decision, reason=reason)

    def _approve_again(self, proposal_id: int, people: list[Person]) -> Iterator[datetime]:
        for n, person in enumerate(people):
            yield self.at(0.91 + 0.07 * n / len(people))
            self._sign(proposal_id, person)

    def _apply(self, proposal_id: int, *, expect: bool, guard: str | None = None) -> None:
        outcome = self.lc.apply_proposal(actor=self.official, work_id=self.work_id,
                                         proposal_id=proposal_id)
        failing = [f"{r.guard}: {r.message}" for r in outcome.results if not r.ok]
        if outcome.applied != expect or (guard and guard not in {r.guard for r in outcome.results
                                                                 if not r.ok}):
            raise DemoError(f"{self.code} {outcome.proposal.trigger}: expected "
                            f"{'applied' if expect else 'refused by ' + str(guard)}, got "
                            f"{'applied' if outcome.applied else failing}")

    # ---------------------------------------------------------------- who signs
    def _eligible(self, *, exclude_civil: bool = False,
                  sectors: tuple[str, ...] | None = None) -> list[Person]:
        """Members whose approval counts on this work (DESIGN §3)."""
        people = []
        for person in self.setup.members:
            if person.organization.casefold() == self.entity.casefold():
                continue
            if person.actor.id in self.conflicted:
                continue
            if self.supplier and person.organization.casefold() == self.supplier.casefold():
                continue
            if exclude_civil and person.sector == "civil_society":
                continue
            if sectors and person.sector not in sectors:
                continue
            people.append(person)
        return people

    def _pick(self, count: int, *, exclude: list[Person] = (), civil: bool = True,
              only_civil: bool = False) -> list[Person]:
        """`count` members whose approvals count, with civil society among them if `civil`
        (the default policy requires it), or none from it if not."""
        pool = [p for p in self._eligible(exclude_civil=not civil) if p not in exclude]
        if only_civil:
            pool = [p for p in pool if p.sector == "civil_society"]
        self.rng.shuffle(pool)
        if civil and not only_civil:
            pool.sort(key=lambda p: p.sector != "civil_society")  # one civil society first
            pool = pool[:1] + self.rng.sample(pool[1:], len(pool) - 1)
        if len(pool) < count:
            raise DemoError(f"{self.code}: only {len(pool)} members can approve, "
                            f"{count} needed")
        return pool[:count]


# --------------------------------------------------------------------------------- entry points
def build_demo(folder: Path, *, url: str | None = None) -> list[tuple[str, str, str]]:
    """Init plus the demo dataset in `folder`; returns (role, username, token) per demo user,
    the admin first. Each user's web password is its token."""
    if has_data(folder, url=url):
        raise Conflict(f"{folder} already holds works; the demo needs an empty data folder")
    real_now = datetime.now(timezone.utc)
    today = datetime.combine(real_now.date(), time(0), tzinfo=timezone.utc)
    clock = SimulatedClock(today - timedelta(days=SPAN_DAYS) + timedelta(hours=OFFICE_START_UTC))
    lc = bootstrap.open_lifecycle(folder, url=url, clock=clock)
    try:
        demo = _Demo(lc, clock, today)
        demo.set_up()
        demo.run()
        if clock.now > real_now:
            raise DemoError(f"the simulated clock ran past the real now: {clock.now}")
        for person in demo.people:
            lc.set_password(user_id=person.actor.id, password=person.token)
        return [(p.actor.role, p.actor.username, p.token) for p in demo.people]
    finally:
        lc.engine.dispose()


def has_data(folder: Path, *, url: str | None = None) -> bool:
    """True when the folder's database already has works (it never creates the database)."""
    url = url or db.database_url(Path(folder))
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).exists():
            return False
    engine = db.make_engine(url)
    try:
        if not inspect(engine).has_table(db.WorkRow.__tablename__):
            return False
        with engine.connect() as conn:
            return bool(conn.execute(select(func.count()).select_from(db.WorkRow)).scalar())
    finally:
        engine.dispose()
