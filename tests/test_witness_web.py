"""What a reader sees of the witnesses: GET /log/checkpoint serves every cosignature collected,
never a 409 during writes, and /audit says in Spanish who witnessed the current checkpoint and
what that protects against."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from lifecycle import ledger
from lifecycle.evidence.policy import POLICY_ENV, parse_policy
from lifecycle.service import SYSTEM
from lifecycle.worker import CheckpointPublisher
from tests.test_witness_network import NAMES, RunningWitness, policy_text


@pytest.fixture
def witnessed(lc, tmp_path, monkeypatch):
    witnesses = [RunningWitness(tmp_path / n, n, ledger.vkey(lc)) for n in NAMES]
    text = policy_text(witnesses, ledger.vkey(lc))
    (tmp_path / "witnesses.policy").write_text(text)
    monkeypatch.setenv(POLICY_ENV, str(tmp_path / "witnesses.policy"))
    yield parse_policy(text), witnesses
    for witness in witnesses:
        witness.stop()


def test_the_checkpoint_endpoint_serves_the_cosignatures(lc, witnessed):
    policy, witnesses = witnessed
    lc.create_user(actor=SYSTEM, username="a0", role="auditor")
    witnesses[2].stop()
    publisher = CheckpointPublisher(lc, policy)
    publisher.publish_once()
    publisher.close()
    with TestClient(create_app(lc)) as client:
        response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    note = response.text
    assert [w.name for w in policy.witnesses if w.verifier.find(note)] == ["camara", "colegio"]
    with TestClient(create_app(lc)) as client:
        published = client.get("/api/v1/log/witnesses")
    assert published.status_code == 200 and published.text == policy.text


def test_no_witness_policy_is_a_404(lc, monkeypatch):
    monkeypatch.delenv(POLICY_ENV, raising=False)
    with TestClient(create_app(lc)) as client:
        assert client.get("/api/v1/log/witnesses").status_code == 404


def test_the_audit_page_says_who_witnessed_in_spanish(lc, witnessed):
    policy, witnesses = witnessed
    lc.create_user(actor=SYSTEM, username="a0", role="auditor")
    witnesses[1].stop()
    with TestClient(create_app(lc), headers={"Accept-Language": "es"}) as client:
        before = client.get("/audit").text
        publisher = CheckpointPublisher(lc, policy)
        publisher.publish_once()
        publisher.close()
        after = client.get("/audit").text
    assert "Quién atestiguó este punto de control" in before
    assert "camara todavía no lo firmó." in before
    assert "Todavía no lo firmaron suficientes testigos (0 de 3)" in before
    assert "camara lo firmó el" in after and "colegio todavía no lo firmó." in after
    assert "Lo firmaron suficientes testigos (2 de 3)" in after
    assert "mostrar una historia a unas personas y otra distinta a otras" in after


def test_the_audit_page_without_witnesses_says_so(lc, monkeypatch):
    monkeypatch.delenv(POLICY_ENV, raising=False)
    with TestClient(create_app(lc), headers={"Accept-Language": "es"}) as client:
        page = client.get("/audit").text
    assert "Este servidor todavía no tiene testigos" in page


def test_checkpoint_reads_through_the_api_never_fail_during_writes(lc):
    lc.create_user(actor=SYSTEM, username="first", role="auditor")
    statuses: list[int] = []
    done = threading.Event()

    def write() -> None:
        try:
            for i in range(40):
                lc.create_user(actor=SYSTEM, username=f"w{i}", role="auditor")
        finally:
            done.set()

    with TestClient(create_app(lc)) as client:
        writer = threading.Thread(target=write)
        writer.start()
        while not done.is_set() or len(statuses) < 20:
            statuses.append(client.get("/api/v1/log/checkpoint").status_code)
            if len(statuses) > 2000:
                break
        writer.join(timeout=60)
    assert set(statuses) == {200}
