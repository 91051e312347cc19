"""Stateful property test: random commands by random actors (DESIGN §6).

Invariants checked after every step:
- a work's stage changes only through an applied proposal whose guards all held;
- a refused command (any LifecycleError) leaves the log and the projections untouched;
- the log verifies (chain, stored Merkle nodes, root) and a replay equals the projections.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from lifecycle.audit.check import check_database
from lifecycle.errors import LifecycleError
from lifecycle.log.merkle import StreamingRoot, leaf_hash
from lifecycle.states import TRIGGERS
from lifecycle.validation import DECISIONS
from tests.conftest import BACKENDS, SUPPLIER, Clock, build_world, make_lifecycle

KINDS = ("feasibilityStudy", "technicalSpecifications", "budgetApproval", "evaluationReports",
         "contractSigned", "completionCertificate", "cancellationDetails")
MEMBERS = ("rosa", "jorge", "ana", "luis", "carmen")
AWARDS = st.none() | st.fixed_dictionaries({
    "supplier": st.sampled_from([SUPPLIER, {"name": "Consorcio Vial Norte",
                                            "tax_id": "20131312955"}]),
    "amount": st.sampled_from(["9000000.00", "12500000.00", "14000000.00"]),
    "bidders": st.integers(1, 4)})


def make_machine(backend: str):
    class EngineMachine(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.folder = Path(tempfile.mkdtemp(prefix="lifecycle-prop-"))
            self.clock = Clock()
            self.lc = make_lifecycle(self.folder, backend, self.clock)
            self.world = build_world(self.lc, self.clock)
            self.other = self.world.other_official()
            self.outsider = self.world.user("extrano", "member")

        def teardown(self):
            if hasattr(self, "lc"):
                self.lc.engine.dispose()
                shutil.rmtree(self.folder, ignore_errors=True)

        # -- helpers
        def run(self, command):
            """Run one command; a refusal must leave the log exactly as it was."""
            before = self.lc.log_head()
            stage_before = self.world.work.stage
            try:
                outcome = command()
            except LifecycleError:
                assert self.lc.log_head() == before
                assert self.world.work.stage == stage_before
                return None
            return outcome

        def open_id(self):
            proposal = self.world.work.open_proposal
            return proposal.id if proposal else 1

        # -- rules
        @rule(kind=st.sampled_from(KINDS))
        def attach(self, kind):
            self.run(lambda: self.world.attach(kind))

        @rule(trigger=st.sampled_from(TRIGGERS), award=AWARDS, reason=st.booleans())
        def open_proposal(self, trigger, award, reason):
            self.run(lambda: self.lc.open_proposal(
                actor=self.world.official, work_id=self.world.work_id, trigger=trigger,
                justification="because" if reason else "", award=award))

        @rule(name=st.sampled_from(MEMBERS + ("extrano", "oficial")),
              decision=st.sampled_from(DECISIONS), reason=st.booleans())
        def sign(self, name, decision, reason):
            actor = {"extrano": self.outsider, "oficial": self.world.official}.get(
                name) or self.world.members[name]
            self.run(lambda: self.lc.record_signoff(
                actor=actor, work_id=self.world.work_id, proposal_id=self.open_id(),
                decision=decision, reason="see the annex" if reason else None))

        @rule(by_other=st.booleans())
        def apply(self, by_other):
            stage_before = self.world.work.stage
            outcome = self.run(lambda: self.lc.apply_proposal(
                actor=self.other if by_other else self.world.official,
                work_id=self.world.work_id, proposal_id=self.open_id()))
            stage_after = self.world.work.stage
            if outcome is not None and outcome.applied:
                assert all(r.ok for r in outcome.results)
                assert outcome.entry["data"]["to"] == stage_after
            else:
                assert stage_after == stage_before

        @rule()
        def withdraw(self):
            self.run(lambda: self.lc.withdraw_proposal(
                actor=self.world.official, work_id=self.world.work_id,
                proposal_id=self.open_id()))

        @rule(name=st.sampled_from(MEMBERS))
        def observe(self, name):
            self.run(lambda: self.lc.file_observation(
                actor=self.world.members[name], work_id=self.world.work_id,
                text="Please clarify the bill of quantities"))

        @rule(observation_id=st.integers(1, 3))
        def answer(self, observation_id):
            self.run(lambda: self.lc.answer_observation(
                actor=self.world.official, work_id=self.world.work_id,
                observation_id=observation_id, text="Clarified in annex 2"))

        @rule(name=st.sampled_from(MEMBERS))
        def conflict(self, name):
            self.run(lambda: self.lc.declare_conflict(
                actor=self.world.members[name], work_id=self.world.work_id,
                statement="Related to a bidder"))

        @rule(name=st.sampled_from(MEMBERS))
        def leave(self, name):
            self.run(lambda: self.lc.remove_member(
                actor=self.world.admin, network_id=self.world.network_id,
                user_id=self.world.members[name].id))

        @rule(sector=st.sampled_from(("civil_society", "academia", "private_sector")),
              same_as=st.sampled_from((None,) + MEMBERS))
        def new_member(self, sector, same_as):
            """A member joins mid-way, for a new organization or for an existing member's one
            (one approval per organization; eligibility from the proposal's opening)."""
            self.joined = getattr(self, "joined", 0) + 1
            name = f"nuevo{self.joined}"
            if same_as is None:
                organization = self.lc.create_organization(
                    actor=self.world.admin, name=f"Colectivo {self.joined}", kind="ngo",
                    sector=sector).id
            else:
                organization = self.lc.get_network(self.world.network_id).member(
                    self.world.members[same_as].id).organization_id
            actor = self.world.user(name, "member")
            self.run(lambda: self.lc.add_member(
                actor=self.world.admin, network_id=self.world.network_id, user_id=actor.id,
                organization_id=organization))
            self.world.members[name] = actor

        @rule(decision=st.sampled_from(DECISIONS))
        def newcomer_signs(self, decision):
            if getattr(self, "joined", 0):
                actor = self.world.members[f"nuevo{self.joined}"]
                self.run(lambda: self.lc.record_signoff(
                    actor=actor, work_id=self.world.work_id, proposal_id=self.open_id(),
                    decision=decision, reason="see the annex"))

        @rule(name=st.sampled_from(MEMBERS))
        def rejoin(self, name):
            """Leave-and-rejoin: a new membership, whose earlier approvals never revive."""
            member = self.world.members[name]
            organization = self.lc.get_network(self.world.network_id).member(
                member.id).organization_id
            self.run(lambda: self.lc.add_member(
                actor=self.world.admin, network_id=self.world.network_id, user_id=member.id,
                organization_id=organization))

        @rule(name=st.sampled_from(MEMBERS), observation_id=st.integers(1, 3),
              accept=st.booleans())
        def judge_answer(self, name, observation_id, accept):
            self.run(lambda: self.lc.judge_answer(
                actor=self.world.members[name], work_id=self.world.work_id,
                observation_id=observation_id, accept=accept, reason="not enough"))

        @rule(hours=st.integers(1, 48))
        def clock_steps_back(self, hours):
            """The service's clock jumps back: the log's time must not."""
            self.clock.advance(hours=-hours)

        @rule(min_approvals=st.integers(1, 4), min_sectors=st.integers(1, 3))
        def policy(self, min_approvals, min_sectors):
            self.run(lambda: self.lc.set_policy(
                actor=self.world.admin, network_id=self.world.network_id,
                min_approvals=min_approvals, min_sectors=min_sectors))

        @rule(days=st.integers(0, 30))
        def time_passes(self, days):
            self.clock.advance(days=days)

        # -- invariants
        @invariant()
        def stage_changes_only_through_legal_transitions(self):
            if not hasattr(self, "lc"):
                return
            stage = "design"
            for entry in self.lc.history(self.world.work_id):
                if entry["type"] == "transition.applied":
                    assert entry["data"]["from"] == stage
                    assert all(g["ok"] for g in entry["data"]["guards"])
                    stage = entry["data"]["to"]
            assert self.world.work.stage == stage

        @invariant()
        def log_verifies_and_replay_equals_projections(self):
            if not hasattr(self, "lc"):
                return
            problems, size = check_database(self.lc)
            assert problems == []  # includes: every entry legal when replayed
            streaming = StreamingRoot()
            for raw in self.lc.entries(limit=size):
                streaming.add(leaf_hash(raw))
            assert (streaming.size, streaming.root()) == self.lc.log_head()

    return EngineMachine


_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), stateful_step_count=25)
TestEngineSQLite = make_machine("sqlite").TestCase
TestEngineSQLite.settings = settings(max_examples=30, **_COMMON)
if "postgresql" in BACKENDS:
    TestEnginePostgreSQL = make_machine("postgresql").TestCase
    TestEnginePostgreSQL.settings = settings(max_examples=12, **_COMMON)
