"""Three witnesses over real HTTP on loopback with a 2-of-3 policy (DESIGN §4.4): the publisher
collects their cosignatures, GET /log/checkpoint serves them, one witness stopped delays only
its own, the export carries the cosigned checkpoint and the policy, and `audit verify --policy`
passes or fails accordingly; a split view and a post-dated entry are reported."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from lifecycle import ledger
from lifecycle.audit.cli import audit_app
from lifecycle.audit.export import export_bundle
from lifecycle.audit.verify import verify_bundle
from lifecycle.bootstrap import open_lifecycle
from lifecycle.evidence.policy import POLICY_FILE, Witness, parse_policy
from lifecycle.evidence.witness_client import WitnessClient
from lifecycle.evidence.witness_server import create_witness_app
from lifecycle.log.note import SIGNING_KEY_ENV, SIGNING_KEY_FILE, generate_signing_key
from lifecycle.service import SYSTEM
from lifecycle.worker import CheckpointPublisher

NAMES = ("camara", "colegio", "universidad")


class RunningWitness:
    """A witness app under uvicorn in a thread, on a loopback port of its own."""

    def __init__(self, folder: Path, name: str, trusted_vkey: str):
        self.app = create_witness_app(folder, name=f"{name}.test/witness")
        self.store = self.app.state.store
        self.store.add_log(trusted_vkey)
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def policy_text(witnesses: list[RunningWitness], log_vkey: str, threshold: str = "2") -> str:
    lines = [f"log {log_vkey}"]
    for name, witness in zip(NAMES, witnesses):
        lines.append(f"witness {name} {witness.store.vkey} {witness.url}")
    lines += [f"group redes {threshold} {' '.join(NAMES)}", "quorum redes", ""]
    return "\n".join(lines)


@pytest.fixture
def witnesses(tmp_path, lc):
    running = [RunningWitness(tmp_path / f"w-{name}", name, ledger.vkey(lc)) for name in NAMES]
    yield running
    for witness in running:
        witness.stop()


def _grow(lc, prefix: str, count: int) -> None:
    for i in range(count):
        lc.create_user(actor=SYSTEM, username=f"{prefix}{i}", role="auditor")


def test_two_of_three_witnesses_cosign_and_the_export_verifies(lc, witnesses, tmp_path):
    policy = parse_policy(policy_text(witnesses, ledger.vkey(lc)))
    _grow(lc, "a", 3)
    publisher = CheckpointPublisher(lc, policy)
    outcomes = publisher.publish_once()
    assert [(o.witness, o.cosigned) for o in outcomes] == [(n, True) for n in NAMES]
    note = ledger.checkpoint(lc)  # what GET /log/checkpoint serves
    assert all(w.verifier.find(note) is not None for w in policy.witnesses)

    witnesses[2].stop()  # the university's witness goes down
    _grow(lc, "b", 4)
    outcomes = {o.witness: o for o in publisher.publish_once()}
    publisher.close()
    assert outcomes["camara"].cosigned and outcomes["colegio"].cosigned
    assert not outcomes["universidad"].cosigned
    assert "unreachable" in outcomes["universidad"].message
    note = ledger.checkpoint(lc)
    found = {w.name: w.verifier.find(note) for w in policy.witnesses}
    assert found["camara"] and found["colegio"] and found["universidad"] is None

    bundle = tmp_path / "bundle"
    export_bundle(lc, bundle, policy=policy)
    assert (bundle / POLICY_FILE).read_text() == policy.text
    result = verify_bundle(bundle, ledger.vkey(lc), policy=policy.text)
    assert result.ok, result.problem
    assert "witnessed by camara, colegio" in result.summary

    everyone = policy_text(witnesses, ledger.vkey(lc), threshold="all")
    strict = verify_bundle(bundle, ledger.vkey(lc), policy=everyone)
    assert not strict.ok
    assert "do not satisfy the policy" in strict.problem and "universidad" in strict.problem

    runner = CliRunner()
    (tmp_path / "strict.policy").write_text(everyone)
    cli = runner.invoke(audit_app, ["verify", str(bundle), "--key", str(lc.data_dir / "log.vkey"),
                                    "--policy", str(tmp_path / "strict.policy")])
    assert cli.exit_code == 1 and "do not satisfy" in cli.output
    cli = runner.invoke(audit_app, ["verify", str(bundle), "--key", str(lc.data_dir / "log.vkey")])
    assert cli.exit_code == 0, cli.output  # the bundle's own policy, with a warning
    assert "witnessed by camara, colegio" in cli.output


def test_the_client_adopts_the_size_a_409_returns(lc, witnesses):
    policy = parse_policy(policy_text(witnesses, ledger.vkey(lc)))
    _grow(lc, "a", 5)
    publisher = CheckpointPublisher(lc, policy)
    publisher.publish_once()
    publisher.close()
    _grow(lc, "b", 3)
    checkpoint = ledger.latest_checkpoint(lc)
    witness: Witness = policy.witnesses[0]
    client = WitnessClient(witness)  # knows nothing: starts from old 0, as after a restart
    result = client.submit(checkpoint.note, checkpoint.size,
                           lambda a, b: ledger.consistency_path(lc, a, b))
    client.close()
    assert result.attempts == 2 and client.known_size == checkpoint.size
    assert witness.verifier.find(checkpoint.note + result.cosignature.line + "\n")


def test_a_split_view_is_refused_by_the_witnesses_and_reported(tmp_path, monkeypatch,
                                                                witnesses, lc):
    """The operator keeps a second database with another history under the same key and
    origin, to show it to some people. The witnesses saw the first history, so they refuse
    the second, and verify --policy reports its export as not witnessed."""
    honest_policy = parse_policy(policy_text(witnesses, ledger.vkey(lc)))
    _grow(lc, "a", 4)
    publisher = CheckpointPublisher(lc, honest_policy)
    assert all(o.cosigned for o in publisher.publish_once())
    publisher.close()

    monkeypatch.setenv(SIGNING_KEY_ENV, str(lc.data_dir / SIGNING_KEY_FILE))
    other = open_lifecycle(tmp_path / "second-db", origin=ledger.vkey(lc).split("+")[0])
    assert ledger.vkey(other) == ledger.vkey(lc)
    _grow(other, "z", 6)  # a different history from entry 0 on
    publisher = CheckpointPublisher(other, honest_policy)
    outcomes = publisher.publish_once()
    publisher.close()
    assert not any(o.cosigned for o in outcomes)
    assert all("422" in o.message for o in outcomes), [o.message for o in outcomes]

    bundle = tmp_path / "split"
    export_bundle(other, bundle, policy=honest_policy)
    result = verify_bundle(bundle, ledger.vkey(lc), policy=honest_policy.text)
    assert not result.ok and "split view" in result.problem
    other.engine.dispose()


def test_an_entry_dated_after_its_cosignature_is_reported(tmp_path, witnesses, lc, clock):
    """Entries post-dated by the operator: the witnesses cosigned a checkpoint containing them
    before the time they claim."""
    policy = parse_policy(policy_text(witnesses, ledger.vkey(lc)))
    _grow(lc, "a", 2)
    clock.now = datetime.now(timezone.utc) + timedelta(days=400)
    _grow(lc, "late", 1)
    bundle = tmp_path / "bundle"
    export_bundle(lc, bundle, policy=policy)
    result = verify_bundle(bundle, ledger.vkey(lc), policy=policy.text)
    assert not result.ok
    size = lc.log_size()
    assert result.problem.startswith(f"entry {size - 1}: dated ")
    assert "after witness" in result.problem


def test_a_hanging_witness_delays_only_its_own_cosignature(lc, witnesses, tmp_path):
    """A witness that accepts the connection and never answers: its submission ends at the
    client's timeout, and the other two cosign in the same round."""
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
    try:
        text = policy_text(witnesses, ledger.vkey(lc)).replace(
            witnesses[2].url, f"http://127.0.0.1:{hanging.getsockname()[1]}")
        policy = parse_policy(text)
        _grow(lc, "a", 2)
        publisher = CheckpointPublisher(lc, policy, timeout=0.5)
        outcomes = {o.witness: o for o in publisher.publish_once()}
        publisher.close()
        assert outcomes["camara"].cosigned and outcomes["colegio"].cosigned
        assert not outcomes["universidad"].cosigned
        assert "Timeout" in outcomes["universidad"].message
    finally:
        hanging.close()


def test_concurrent_submissions_over_http_never_roll_the_witness_back(tmp_path):
    """The specification's race, through the real server: pairs of submissions with the same
    old size; the recorded size only grows and every loser is told the winner's size."""
    import httpx

    from tests.test_witness_protocol import ORIGIN, FakeLog

    log = FakeLog()
    witness = RunningWitness(tmp_path / "w", "camara", log.vkey)
    try:
        recorded = 0
        with httpx.Client(timeout=10) as client:
            for round_ in range(8):
                bodies = [log.body(recorded, recorded + 1), log.body(recorded, recorded + 3)]
                if round_ % 2:
                    bodies.reverse()
                answers: list = [None, None]
                barrier = threading.Barrier(2)

                def send(i: int) -> None:
                    barrier.wait()
                    answers[i] = client.post(witness.url + "/add-checkpoint", content=bodies[i])

                threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=30)
                assert sorted(a.status_code for a in answers) == [200, 409]
                now = witness.store.recorded(ORIGIN).size
                assert now > recorded
                loser = next(a for a in answers if a.status_code == 409)
                assert loser.text == f"{now}\n"
                assert loser.headers["content-type"] == "text/x.tlog.size"
                recorded = now
    finally:
        witness.stop()


def test_a_post_dated_entry_is_reported_with_an_older_checkpoint_too(tmp_path, witnesses, lc,
                                                                   clock):
    policy = parse_policy(policy_text(witnesses, ledger.vkey(lc)))
    _grow(lc, "a", 1)
    clock.now = datetime.now(timezone.utc) + timedelta(days=30)
    _grow(lc, "b", 1)  # entry 1, post-dated by a month
    older = tmp_path / "older"
    export_bundle(lc, older, policy=policy)
    _grow(lc, "c", 1)
    later = tmp_path / "later"
    export_bundle(lc, later, policy=policy)
    result = verify_bundle(later, ledger.vkey(lc), older / "checkpoint", policy=policy.text)
    assert result.problem.startswith("entry 1: dated ")


def test_each_entry_is_bound_by_the_earliest_cosignature_that_covers_it(tmp_path):
    """Entry 1 is dated after the cosignature of size 2 but before that of size 3: only the
    smaller checkpoint's bound, which covers it, reports it."""
    from lifecycle.evidence.witness_audit import late_entry

    base = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    ats = [base, base + timedelta(hours=2), base + timedelta(hours=3)]
    entries = tmp_path / "entries.jsonl"
    entries.write_text("".join(
        '{"at":"%s"}\n' % at.strftime("%Y-%m-%dT%H:%M:%S.000000Z") for at in ats))
    at_1h = int((base + timedelta(hours=1)).timestamp())
    at_5h = int((base + timedelta(hours=5)).timestamp())
    assert late_entry(entries, [(3, "colegio", at_5h)]) is None
    problem = late_entry(entries, [(3, "colegio", at_5h), (2, "camara", at_1h)])
    assert problem.startswith("entry 1: dated 2026-05-01T14:00:00.000000Z, after witness "
                              "camara cosigned a checkpoint of 2 entries")
    assert late_entry(entries, [(1, "camara", at_1h)]) is None  # entry 1 is not covered
