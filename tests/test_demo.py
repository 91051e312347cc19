"""The demo dataset: `lifecycle demo` builds it once for this module, then each test checks what
a person exploring the demo would look at."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from lifecycle.audit.check import check_database
from lifecycle.bootstrap import init, open_lifecycle
from lifecycle.cli import app
from lifecycle.demo import SEED, build_demo, has_data, make_plans
from lifecycle.errors import Conflict
from lifecycle.log.canonical import parse_time
from lifecycle.states import SECTORS, STAGES
from lifecycle.states.machine import CONSTITUENCIES
from tests.conftest import PG_URL, reset_postgres

LINE = re.compile(r"^(admin|official|member|auditor) ([a-z0-9][a-z0-9._-]+) (\S{20,})$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The folder `lifecycle demo` filled, and the lines it printed."""
    folder = tmp_path_factory.mktemp("demo") / "data"
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(folder)])
    assert result.exit_code == 0, result.output
    return folder, result.output.splitlines()


@pytest.fixture(scope="module")
def lc(demo):
    """The demo's engine on the real clock, as `lifecycle serve` opens it."""
    engine_lc = open_lifecycle(demo[0])
    yield engine_lc
    engine_lc.engine.dispose()


@pytest.fixture(scope="module")
def log(lc):
    return [json.loads(raw) for raw in lc.entries(limit=1_000_000)]


def test_cli_prints_one_line_per_user_admin_first(demo, lc):
    lines = demo[1]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed) if not m]
    roles = [m.group(1) for m in parsed]
    assert roles[0] == "admin"
    assert set(roles) == {"admin", "official", "member", "auditor"}
    assert roles.count("auditor") == 2
    assert 8 <= roles.count("official") <= 14
    usernames = [m.group(2) for m in parsed]
    assert len(set(usernames)) == len(usernames)
    assert sorted(usernames) == sorted(u.username for u in lc.users())


def test_every_user_signs_in_by_token_and_by_password_equal_to_token(demo, lc):
    for line in demo[1]:
        role, username, token = line.split(" ")
        by_token = lc.authenticate_token(token)
        assert (by_token.username, by_token.role) == (username, role)
        by_password = lc.authenticate_password(username, token)
        assert by_password is not None and by_password.username == username
    assert lc.authenticate_password(demo[1][0].split(" ")[1], "not-the-token") is None


def test_about_fifty_four_works_in_every_stage_and_region(lc):
    counts = lc.counts()
    assert 50 <= sum(counts["stage"].values()) <= 60
    assert {stage for stage, n in counts["stage"].items() if n} == set(STAGES)
    assert len(counts["region"]) == 7
    assert min(counts["region"].values()) >= 5


def test_each_region_has_a_network_with_every_sector_and_constituency(lc):
    networks = lc.list_networks()
    assert len(networks) == 7
    assert len({n.region for n in networks}) == 7
    constituencies = set()
    for network in networks:
        members = list(network.members.values())
        assert {m.sector for m in members} == set(SECTORS), network.name
        constituencies.update(c for m in members for c in m.constituencies)
    assert constituencies == set(CONSTITUENCIES)
    assert any(n.policy.version > 1 for n in networks)  # one network changed its policy


def test_the_log_checks_out(lc):
    problems, size = check_database(lc)
    assert problems == []
    assert size == lc.log_size() > 1000


def test_audit_check_command_passes(demo):
    result = CliRunner().invoke(app, ["audit", "check", "--data-dir", str(demo[0])])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("ok:")


def test_history_spans_about_eighteen_months_up_to_now_in_order(log):
    times = [parse_time(entry["at"]) for entry in log]
    assert times == sorted(times)
    now = datetime.now(timezone.utc)
    assert times[-1] <= now
    assert now - times[-1] < timedelta(days=10)
    assert timedelta(days=480) < times[-1] - times[0] < timedelta(days=600)


def _refusing_guards(log) -> set[str]:
    return {g["guard"] for e in log if e["type"] == "transition.refused"
            for g in e["data"]["guards"] if not g["ok"]}


def test_refused_transitions_cover_every_kind_of_guard(log):
    assert _refusing_guards(log) >= {"quorum", "blocks", "documents", "tender_period",
                                     "observations_answered"}
    messages = [g["message"] for e in log if e["type"] == "transition.refused"
                for g in e["data"]["guards"] if not g["ok"]]
    assert any("none from civil_society" in m for m in messages)
    assert any("raised by red flags" in m for m in messages)


def test_refused_proposals_are_fixed_and_applied_later(log):
    applied = {(e["data"]["work_id"], e["data"]["proposal_id"])
               for e in log if e["type"] == "transition.applied"}
    refused = {(e["data"]["work_id"], e["data"]["proposal_id"])
               for e in log if e["type"] == "transition.refused"}
    assert len(refused & applied) >= 10
    assert refused - applied  # and some are still waiting


def test_blocks_are_lifted_by_their_author(log):
    stance = defaultdict(list)  # (work, proposal, member) -> decisions in order
    for e in log:
        if e["type"] == "signoff.recorded":
            d = e["data"]
            stance[(d["work_id"], d["proposal_id"], e["actor"]["id"])].append(d["decision"])
    blocks = [k for k, decisions in stance.items() if "block" in decisions]
    withdrawn = [k for k, decisions in stance.items()
                 if "block" in decisions and "withdraw" in decisions[decisions.index("block"):]]
    assert len(withdrawn) >= 3
    assert len(blocks) > len(withdrawn)  # some blocks still stand


def test_observations_answered_and_conflicts_declared(log, lc):
    types = defaultdict(int)
    for e in log:
        types[e["type"]] += 1
    assert types["observation.answered"] >= 5
    assert types["observation.filed"] > types["observation.answered"]  # some still open
    assert types["conflict.declared"] >= 3
    assert types["proposal.withdrawn"] >= 2  # taken back after a block, then resubmitted
    open_observations = [w for w in lc.list_works(stage="technical_file").works
                         if any(o.answer is None for o in lc.get_work(w.id).observations)]
    assert open_observations


def test_void_tender_is_tendered_again(log):
    moves = defaultdict(list)
    for e in log:
        if e["type"] == "transition.applied":
            moves[e["data"]["work_id"]].append(e["data"]["trigger"])
    retendered = [m for m in moves.values()
                  if "declare_void" in m and "publish_tender" in m[m.index("declare_void"):]]
    assert retendered


def test_awards_with_red_flags_needed_an_extra_approval(log, lc):
    flagged = []
    for e in log:
        if e["type"] == "transition.applied" and e["data"]["trigger"] == "award":
            work = lc.get_work(e["data"]["work_id"])
            proposal = work.proposal(e["data"]["proposal_id"])
            if proposal.red_flags:
                quorum = next(g for g in e["data"]["guards"] if g["guard"] == "quorum")
                flagged.append((proposal.red_flags, quorum["message"]))
    flags = {f for fl, _ in flagged for f in fl}
    assert flags == {"single_bidder", "amount_above_reference"}
    assert all(re.match(r"\d+ of 4 approvals", message) for _, message in flagged)


def test_stalled_report_lists_some_works_but_not_most(lc):
    report = lc.stalled_report()
    assert 3 <= len(report) <= 15
    assert {r["stage"] for r in report} >= {"design", "technical_file"}
    assert all(r["days_overdue"] > 0 for r in report)


def test_documents_are_stored_pdfs_with_titles(lc):
    work_rows = lc.list_works(stage="closure").works
    assert work_rows
    for row in work_rows:
        work = lc.get_work(row.id)
        kinds = {d.kind for d in work.documents}
        assert {"feasibilityStudy", "technicalSpecifications", "budgetApproval",
                "evaluationReports", "contractSigned", "completionCertificate"} <= kinds
        for document in work.documents:
            content = b"".join(lc.blobs.chunks(document.sha256))
            assert content.startswith(b"%PDF-1.4") and content.rstrip().endswith(b"%%EOF")
            assert len(content) == document.size
            assert document.title and document.filename.endswith(".pdf")


def test_amounts_are_decimal_strings_in_soles(lc):
    for row in lc.list_works(limit=100).works:
        work = lc.get_work(row.id)
        assert work.currency == "PEN"
        assert re.fullmatch(r"\d+\.\d\d", work.reference_amount)
        if work.award:
            assert re.fullmatch(r"\d+\.\d\d", work.award["amount"])


def test_has_data_only_when_the_folder_has_works(tmp_path, demo):
    assert not has_data(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()  # asking does not create the folder
    fresh = open_lifecycle(tmp_path / "fresh")
    init(fresh)
    fresh.engine.dispose()
    assert not has_data(tmp_path / "fresh")
    assert has_data(demo[0])


def test_a_second_demo_in_the_same_folder_is_refused(demo):
    with pytest.raises(Conflict):
        build_demo(demo[0])


def test_the_plan_depends_only_on_the_seed():
    first = make_plans(random.Random(SEED))
    assert first == make_plans(random.Random(SEED))
    assert len(first) == 54
    assert first != make_plans(random.Random(SEED + 1))


@pytest.mark.postgres
def test_demo_on_postgresql(tmp_path):
    if not PG_URL:
        pytest.skip("LIFECYCLE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    reset_postgres(PG_URL)
    users = build_demo(tmp_path / "data", url=PG_URL)
    lc = open_lifecycle(tmp_path / "data", url=PG_URL)
    try:
        assert users[0][0] == "admin"
        assert check_database(lc)[0] == []
        assert set(lc.counts()["stage"]) == set(STAGES)
        assert has_data(tmp_path / "data", url=PG_URL)
    finally:
        lc.engine.dispose()


def test_the_showcase_work_exercises_the_wave_two_rules(log, lc):
    """DESIGN §3 (wave 2) in the demo: an overruled block of a departed member, a rejected
    answer answered again, a quorum lowered mid-proposal that gained nothing, and the
    contractor's engineer never counted from the award on."""
    types = [e["type"] for e in log]
    overruled = next(e for e in log if e["type"] == "block.overruled")
    work_id = overruled["data"]["work_id"]
    assert len(overruled["data"]["reason"]) > 20
    left = [e for e in log if e["type"] == "member.left"
            and e["data"]["user_id"] == overruled["data"]["user_id"]]
    assert left and left[0]["seq"] < overruled["seq"]
    assert "observation.rejected" in types and "observation.accepted" in types
    mine = [e for e in log if e["data"].get("work_id") == work_id]
    rejected = next(e for e in mine if e["type"] == "observation.rejected")
    assert any(e["type"] == "observation.answered" and e["seq"] > rejected["seq"] for e in mine)
    lowered = [e for e in log if e["type"] == "policy.set" and e["data"]["policy"][
        "min_approvals"] == 2]
    assert lowered
    refusal_after = next(e for e in mine if e["type"] == "transition.refused"
                         and e["seq"] > lowered[0]["seq"])
    quorum = next(g for g in refusal_after["data"]["guards"] if g["guard"] == "quorum")
    assert quorum["message"].startswith("2 of 3 approvals")
    work = lc.get_work(work_id)
    assert work.stage == "closure"
    close = next(p for p in work.proposals if p.trigger == "close")
    network = lc.get_network(work.network_id)
    from lifecycle.guards import GuardState, approval_tally
    excluded = {t.excluded for t in approval_tally(GuardState(work, network), close)}
    assert "works for the awarded supplier or a consortium member" in excluded
