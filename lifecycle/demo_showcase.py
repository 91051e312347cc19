"""One demo work whose history shows the wave-2 rules of DESIGN §3 at work: a block whose
author left the network, lifted by an overrule; an answer rejected by the observation's author
and answered again; a quorum lowered while a proposal was open, which gains nothing; and the
contractor's engineer, a member of the network, whose approvals never count from the award on.

It is played like any other story of `lifecycle demo`, through the service, on the simulated
clock, so its entries replay as legal like every other."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lifecycle.demo_data import WORK_TYPES

if TYPE_CHECKING:
    from lifecycle.demo import Person, RegionSetup, _Demo

START_DAYS_BEFORE_TODAY = 430
CONTRACTOR = "Constructora Mochica S.A.C."
ARCHITECTS = "Colegio de Arquitectos del Perú – Regional Lambayeque"
WATER_USERS = "Junta de Usuarios de Agua Chancay-Lambayeque"
BLOCK = ("El expediente no incluye el estudio de impacto vial del tramo urbano de Pimentel.")
OVERRULE = ("La autora del bloqueo dejó la red; el estudio de impacto vial se incorporó al "
            "expediente y cinco organizaciones de la red lo revisaron y aprobaron.")
OBSERVATION = "El estudio hidrológico no incluye los caudales máximos del río Chancay."
FIRST_ANSWER = "El estudio hidrológico se adjuntó en el anexo 3 del expediente."
REJECTION = "El anexo 3 trae los caudales medios, no los máximos de avenida."
SECOND_ANSWER = ("Se adjunta el anexo 3-A con los caudales máximos para periodos de retorno de "
                 "50 y 100 años.")
ACCEPTANCE = "El anexo 3-A responde la observación."


def showcase(demo: _Demo, story_class) -> object:
    """The showcase story for the first region (its regional government's work)."""

    class Showcase(story_class):
        def __init__(self):
            setup: RegionSetup = demo.regions[0]
            rng = random.Random("showcase")
            super().__init__(demo, setup, setup.region.government, None, rng)
            self.start: datetime | None = None
            self.extra: dict[str, Person] = {}

        def day(self, days: float) -> datetime:
            return self._moment(self.start + timedelta(days=days))

        def reviewers(self, count: int, *also: Person) -> list[Person]:
            """Members of the region's network who count on this work (not the entity)."""
            people = [p for p in self.setup.members if p.organization != self.entity]
            return (people + list(also))[:count]

        def _member_for(self, name: str, kind: str, sector: str) -> Person:
            organization_id = demo.organization(name, kind, sector)
            person = demo._user("member")
            person.organization, person.sector = name, sector
            self.lc.add_member(actor=demo.admin, network_id=self.setup.network_id,
                               user_id=person.actor.id, organization_id=organization_id)
            return person

        def play(self):
            self.start = demo.day(START_DAYS_BEFORE_TODAY, self.rng)
            self.last = self.start
            yield self.start
            self.kind = WORK_TYPES[0]
            region = self.setup.region
            self.place = region.places[0]
            self.extra["architect"] = self._member_for(ARCHITECTS, "association",
                                                       "professional_association")
            self.extra["water"] = self._member_for(WATER_USERS, "association", "civil_society")
            contractor = demo.organization(CONTRACTOR, "company", "private_sector")
            # The award finds the contractor by its RUC: the same organization as its engineer's.
            demo.supplier_rucs[CONTRACTOR] = self.lc.get_organization(contractor).tax_id
            self.extra["engineer"] = self._member_for(CONTRACTOR, "company", "private_sector")
            yield self.day(2)
            year = demo.clock.now.year
            count = self.setup.work_count.get(year, 0) + 1
            self.setup.work_count[year] = count
            self.code = f"{region.code}-{year}-{count:03d}"
            self.title = f"Mejoramiento de la avenida costanera de {self.place} a Pimentel"
            demo.used_titles.add(self.title)
            self.reference_cents = 1_860_000_000
            self.work_id = self.lc.register_work(
                actor=self.official, code=self.code, title=self.title, region=region.name,
                reference_amount="18600000.00", currency="PEN").id
            yield from self.design()
            yield from self.technical_file()
            yield from self.tender_to_closure()

        def design(self):
            """A block whose author then leaves the network: only an overrule lifts it."""
            yield self.day(30)
            self._attach("feasibilityStudy")
            yield self.day(31)
            proposal = self._propose("approve_design",
                                     "El estudio de preinversión está aprobado.")
            yield self.day(32)
            self._sign(proposal.id, self.extra["architect"], "block", BLOCK)
            yield self.day(36)
            self.lc.remove_member(actor=demo.admin, network_id=self.setup.network_id,
                                  user_id=self.extra["architect"].actor.id)
            for n, person in enumerate(self.reviewers(6, self.extra["water"])):
                yield self.day(38 + n * 0.3)
                self._sign(proposal.id, person)
            yield self.day(40)
            self._apply(proposal.id, expect=False, guard="blocks")
            yield self.day(41)
            self.lc.overrule_block(actor=self.official, work_id=self.work_id,
                                   proposal_id=proposal.id,
                                   user_id=self.extra["architect"].actor.id, reason=OVERRULE)
            yield self.day(41.1)
            self._apply(proposal.id, expect=True)

        def technical_file(self):
            """An answer rejected by the observation's author, then a quorum lowered while the
            proposal was open: the pinned policy still needs three approvals."""
            author = self.reviewers(1)[0]
            yield self.day(50)
            self.lc.file_observation(actor=author.actor, work_id=self.work_id, text=OBSERVATION)
            yield self.day(55)
            self._answer(1, FIRST_ANSWER)
            yield self.day(57)
            self.lc.judge_answer(actor=author.actor, work_id=self.work_id, observation_id=1,
                                 accept=False, reason=REJECTION)
            yield self.day(62)
            self._answer(1, SECOND_ANSWER)
            yield self.day(63)
            self.lc.judge_answer(actor=author.actor, work_id=self.work_id, observation_id=1,
                                 accept=True, reason=ACCEPTANCE)
            yield self.day(80)
            self._attach("technicalSpecifications")
            self._attach("budgetApproval")
            yield self.day(81)
            proposal = self._propose("publish_tender",
                                     "El expediente técnico está completo y observado.")
            first, second, third = self.reviewers(3)
            yield self.day(82)
            self._sign(proposal.id, first)
            self._sign(proposal.id, second)
            yield self.day(83)
            demo.lc.set_policy(actor=demo.admin, network_id=self.setup.network_id,
                               min_approvals=2)
            self._apply(proposal.id, expect=False, guard="quorum")
            demo.lc.set_policy(actor=demo.admin, network_id=self.setup.network_id,
                               min_approvals=3)
            yield self.day(84)
            self._sign(proposal.id, third)
            yield self.day(84.2)
            self._apply(proposal.id, expect=True)

        def tender_to_closure(self):
            """The contractor's engineer approves every later proposal; never counted."""
            engineer = self.extra["engineer"]
            yield self.day(104)
            self._attach("evaluationReports")
            self.lc.record_milestone(actor=self.official, work_id=self.work_id,
                                     code="bases_integrated",
                                     date=demo.clock.now.date().isoformat())
            yield self.day(105)
            award = {"supplier": {"name": CONTRACTOR, "tax_id": demo.supplier_rucs[CONTRACTOR]},
                     "amount": "18120000.00", "bidders": 4}
            proposal = self._propose("award", "Buena pro al postor con el mejor puntaje.",
                                     award)
            yield from self.approve(proposal.id, 106, engineer)
            self.supplier = CONTRACTOR
            for trigger, kind, day, text in (
                    ("sign_contract", "contractSigned", 125, "Contrato firmado con el postor "
                                                             "ganador."),
                    ("close", "completionCertificate", 320, "Obra recibida sin observaciones.")):
                yield self.day(day)
                self._attach(kind)
                proposal = self._propose(trigger, text)
                yield from self.approve(proposal.id, day + 1, engineer)

        def approve(self, proposal_id: int, day: float, engineer: Person):
            yield self.day(day)
            self._sign(proposal_id, engineer)  # recorded, and shown as not counting
            for n, person in enumerate(self.reviewers(3)):
                yield self.day(day + 0.2 + n * 0.1)
                self._sign(proposal_id, person)
            yield self.day(day + 0.8)
            self._apply(proposal_id, expect=True)

    return Showcase()
