"""`lifecycle sign keygen|statement|sign`: a member signs with a local Ed25519 key file, with
no browser in between, and the server accepts the sign-off it produces."""

from __future__ import annotations

import json
import stat

import pytest
from fastapi.testclient import TestClient
from tests.api.api_world import build_api_world
from typer.testing import CliRunner

from api.main import create_app
from lifecycle import sign_cli
from lifecycle.cli import app


@pytest.fixture
def api(lc):
    with TestClient(create_app(lc)) as client:
        yield build_api_world(lc, client)


@pytest.fixture
def through_test_client(api, monkeypatch):
    """The CLI's HTTP calls go to the app under test instead of the network."""
    def request(url, token, path, body=None):
        headers = {"Authorization": f"Bearer {token}"}
        response = (api.client.post("/api/v1" + path, json=body, headers=headers)
                    if body is not None else api.client.get("/api/v1" + path, headers=headers))
        if response.status_code >= 400:
            sign_cli._fail(f"the server answered {response.status_code}: {response.text}")
        return response.json()

    monkeypatch.setattr(sign_cli, "_request", request)


def test_keygen_statement_and_sign_make_a_sign_off_the_server_accepts(api, tmp_path,
                                                                      through_test_client):
    runner = CliRunner()
    key = tmp_path / "rosa.key"
    server = ["--url", "http://testserver", "--token", api.tokens["rosa"]]
    made = runner.invoke(app, ["sign", "keygen", "--key", str(key), "--register", *server])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    listed = api.ok(api.get("/users/me/keys", "rosa"))
    assert [k["kind"] for k in listed] == ["ed25519"]
    assert runner.invoke(app, ["sign", "keygen", "--key", str(key)]).exit_code == 1  # kept

    api.ok(api.attach("feasibilityStudy"), 201)
    proposal_id = api.ok(api.propose("approve_design"), 201)["id"]
    fetched = runner.invoke(app, ["sign", "statement", "--work", str(api.work_id), "--proposal",
                                  str(proposal_id), "--decision", "block", "--reason",
                                  "Falta el estudio de suelos.", *server])
    assert fetched.exit_code == 0, fetched.output
    statement_file = tmp_path / "statement.json"
    statement_file.write_text(fetched.stdout.strip().splitlines()[-1])

    signed = runner.invoke(app, ["sign", "sign", str(statement_file), "--key", str(key),
                                 "--submit", *server])
    assert signed.exit_code == 0, signed.output
    body = json.loads(signed.stdout.strip().splitlines()[-1])
    assert body["proof"]["key_id"] == listed[0]["key_id"]
    proposal = api.ok(api.get(f"/works/{api.work_id}/proposals/{proposal_id}"))
    assert [(s["decision"], s["reason"]) for s in proposal["signoffs"]] == [
        ("block", "Falta el estudio de suelos.")]
    again = runner.invoke(app, ["sign", "sign", str(statement_file), "--key", str(key),
                                "--submit", *server])
    assert again.exit_code == 1 and "409" in again.output  # a statement is single-use


def test_sign_refuses_what_is_not_a_statement(tmp_path):
    runner = CliRunner()
    key = tmp_path / "k.key"
    assert runner.invoke(app, ["sign", "keygen", "--key", str(key)]).exit_code == 0
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"hash": "00" * 32}))
    refused = runner.invoke(app, ["sign", "sign", str(bogus), "--key", str(key)])
    assert refused.exit_code == 1 and "not a sign-off statement" in refused.output
