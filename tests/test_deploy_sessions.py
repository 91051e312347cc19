"""Web sessions kept on the server (hashed), so logging out ends them on every process; the
session key from the environment or a key file written atomically, refused when weak."""

from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update

from api.main import create_app
from api.web.session import (
    MIN_SECRET_CHARS,
    SECRET_ENV,
    SECRET_FILE,
    SESSION_COOKIE,
    WebSecretError,
    session_secret,
)
from lifecycle.bootstrap import open_lifecycle
from lifecycle.db import WebSessionRow
from tests.test_web_pages import Browser


@pytest.fixture(autouse=True)
def no_secret_in_env(monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)


def _logged_in_as(client: TestClient) -> bool:
    return 'action="/logout"' in client.get("/").text


def _session_id(lc, cookie: str) -> str:
    serializer = URLSafeTimedSerializer(session_secret(lc.data_dir), salt="lifecycle.web.session")
    return serializer.loads(cookie)["s"]


def _rows(lc) -> list[WebSessionRow]:
    with lc.engine.connect() as conn:
        return list(conn.execute(select(WebSessionRow.__table__)))


def test_logout_ends_the_session_for_every_copy_of_the_cookie_on_every_process(world, tmp_path):
    app = create_app(world.lc)
    browser = Browser(app, world)
    browser.login("rosa")
    cookie = browser.client.cookies[SESSION_COOKIE]

    # A second server process on the same database and data folder.
    url = world.lc.engine.url.render_as_string(hide_password=False)
    other_lc = open_lifecycle(world.lc.data_dir, url=url)
    elsewhere = TestClient(create_app(other_lc))
    elsewhere.cookies.set(SESSION_COOKIE, cookie)
    assert _logged_in_as(browser.client) and _logged_in_as(elsewhere)

    stolen = TestClient(app)
    stolen.cookies.set(SESSION_COOKIE, cookie)
    browser.post("/logout")
    assert not _logged_in_as(browser.client)
    assert not _logged_in_as(stolen)
    replay = TestClient(create_app(other_lc))
    replay.cookies.set(SESSION_COOKIE, cookie)
    assert not _logged_in_as(replay)
    assert _rows(world.lc) == []
    other_lc.engine.dispose()


def test_the_server_keeps_only_the_hash_of_a_session_id(world):
    browser = Browser(create_app(world.lc), world)
    browser.login("rosa")
    session_id = _session_id(world.lc, browser.client.cookies[SESSION_COOKIE])
    [row] = _rows(world.lc)
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in repr(tuple(row))
    assert row.user_id == world.members["rosa"].id


def test_a_new_login_replaces_the_old_session_and_an_expired_one_is_refused(world):
    browser = Browser(create_app(world.lc), world)
    browser.login("rosa")
    first = browser.client.cookies[SESSION_COOKIE]
    browser.login("jorge")
    assert [row.user_id for row in _rows(world.lc)] == [world.members["jorge"].id]
    old = TestClient(create_app(world.lc))
    old.cookies.set(SESSION_COOKIE, first)
    assert not _logged_in_as(old)

    with world.lc.engine.begin() as conn:
        conn.execute(update(WebSessionRow.__table__).values(expires_at="2000-01-01T00:00:00Z"))
    assert not _logged_in_as(browser.client)


def test_an_empty_or_short_key_file_stops_the_server(world):
    key = world.lc.data_dir / SECRET_FILE
    key.write_text("")
    with pytest.raises(WebSecretError, match="empty"):
        create_app(world.lc)
    key.write_text("x" * (MIN_SECRET_CHARS - 1) + "\n")
    with pytest.raises(WebSecretError, match="too short"):
        create_app(world.lc)
    key.unlink()
    create_app(world.lc)
    assert len(key.read_text()) >= MIN_SECRET_CHARS
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_a_short_secret_in_the_environment_stops_the_server(world, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "")
    with pytest.raises(WebSecretError, match="empty"):
        create_app(world.lc)
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(WebSecretError, match="too short"):
        create_app(world.lc)
    strong = "k" * MIN_SECRET_CHARS
    monkeypatch.setenv(SECRET_ENV, strong)
    assert session_secret(world.lc.data_dir) == strong
    assert not (world.lc.data_dir / SECRET_FILE).exists()


def test_workers_starting_together_agree_on_one_key_and_leave_no_temporary_file(tmp_path):
    keys: list[str] = []
    start = threading.Barrier(8)

    def worker():
        start.wait()
        keys.append(session_secret(tmp_path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(os.listdir(tmp_path)) == [SECRET_FILE]
