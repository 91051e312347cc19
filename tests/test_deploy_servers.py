"""Several real server processes (uvicorn, on loopback ports) on one PostgreSQL database, as a
deployment on two machines runs them: every write through any of them lands in one gap-free log
that verifies, any of them serves any document, and killing one (kill -9) under write load loses
no write it had acknowledged.

Each "machine" is a data folder of its own; they share the database, the log's signing key and
the web session key, as the README's deployment guide says. Every loop is bounded and every
server is stopped at the end of its test."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from api.web.session import SESSION_COOKIE
from lifecycle.bootstrap import open_lifecycle
from lifecycle.db import User
from lifecycle.log.note import SIGNING_KEY_ENV, SIGNING_KEY_FILE
from lifecycle.service import hash_token, utcnow
from tests.conftest import PG_URL, Clock, build_world, reset_postgres

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
WEB_SECRET = "deployment-test-web-session-key-0123456789abcdef"
PASSWORD = "contraseña-de-prueba"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(data_dir: Path, signing_key: Path) -> dict[str, str]:
    """What the README's deployment guide sets on each machine."""
    return {**os.environ, "LIFECYCLE_DATABASE_URL": PG_URL, "LIFECYCLE_DATA_DIR": str(data_dir),
            "LIFECYCLE_WEB_SECRET": WEB_SECRET, SIGNING_KEY_ENV: str(signing_key),
            "PYTHONPATH": str(ROOT)}


@dataclass
class Server:
    """`lifecycle serve` in a process group of its own (the supervisor and its workers)."""

    data_dir: Path
    workers: int
    log: Path
    env: dict[str, str]
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lifecycle", "serve", "--port", str(self.port),
                 "--workers", str(self.workers), "--no-access-log",
                 "--data-dir", str(self.data_dir)],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        for _ in range(600):  # bounded: a server that never answers fails the test
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/api/v1/networks", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server on {self.url} did not start:\n" +
                             self.log.read_text()[-3000:])

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes the supervisor spawned (not its resource tracker)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        workers = []
        for child in map(int, children):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except FileNotFoundError:
                continue
            if b"spawn_main" in command and b"resource_tracker" not in command:
                workers.append(child)
        return workers

    def kill(self) -> None:
        """kill -9 of the supervisor and every worker at once (the machine goes down)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Deployment:
    admin_token: str
    official_token: str
    member_tokens: list[str]
    work_id: int
    machines: list[Path]
    signing_key: Path
    tmp: Path
    servers: list[Server] = field(default_factory=list)

    def serve(self, machine: int, workers: int = 1) -> Server:
        server = Server(self.machines[machine], workers,
                        self.tmp / f"server-{len(self.servers)}.log",
                        _environment(self.machines[machine], self.signing_key)).start()
        self.servers.append(server)
        return server

    def audit_check(self, machine: int = 0) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lifecycle", "audit", "check",
                               "--data-dir", str(self.machines[machine])],
                              cwd=ROOT, env=_environment(self.machines[machine],
                                                         self.signing_key),
                              capture_output=True, text=True, timeout=300)


def _give_token(lc, actor) -> str:
    """A fresh API token for a user the shared test world made (it keeps no tokens)."""
    token = secrets.token_urlsafe(32)
    with lc.engine.begin() as conn:
        conn.execute(update(User.__table__).where(User.__table__.c.id == actor.id)
                     .values(token_hash=hash_token(token)))
    return token


@pytest.fixture
def deployment(tmp_path) -> Iterator[Deployment]:
    if not PG_URL:
        pytest.skip("LIFECYCLE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    reset_postgres(PG_URL)
    machine_a, machine_b = tmp_path / "machine-a", tmp_path / "machine-b"
    lc = open_lifecycle(machine_a, url=PG_URL)
    world = build_world(lc, Clock(utcnow()))
    member_tokens = [_give_token(lc, actor) for actor in world.members.values()]
    admin_token, official_token = _give_token(lc, world.admin), _give_token(lc, world.official)
    lc.set_password(user_id=world.members["rosa"].id, password=PASSWORD)
    lc.engine.dispose()
    # The log's key becomes the deployment's secret file, named to both machines by
    # $LIFECYCLE_SIGNING_KEY_FILE (never in the database, and in neither data folder).
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    signing_key = secrets_dir / SIGNING_KEY_FILE
    shutil.move(machine_a / SIGNING_KEY_FILE, signing_key)
    deployment = Deployment(admin_token, official_token, member_tokens, world.work_id,
                            [machine_a, machine_b], signing_key, tmp_path)
    try:
        yield deployment
    finally:
        for server in deployment.servers:
            server.stop()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _log_size(server: Server) -> int:
    return len(_all_entries(server))


def _all_entries(server: Server) -> list[dict]:
    """The whole log through the feed, page by page (bounded by the pages it reports)."""
    entries: list[dict] = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(10_000):
            page = client.get("/api/v1/log",
                              params={"after": len(entries) - 1, "limit": 500})
            assert page.status_code == 200, page.text
            batch = page.json()["entries"]
            entries.extend(batch)
            if len(batch) < 500:
                return entries
    raise AssertionError("the log feed did not end")


def _checkpoint_body(server: Server) -> str:
    """Origin, size and root of the server's signed checkpoint (without the signatures)."""
    response = httpx.get(f"{server.url}/api/v1/log/checkpoint", timeout=30)
    assert response.status_code == 200, response.text
    return response.text.split("\n\n")[0]


def _observations(server: Server, work_id: int) -> list[str]:
    response = httpx.get(f"{server.url}/api/v1/works/{work_id}", timeout=30)
    assert response.status_code == 200, response.text
    return [o["text"] for o in response.json()["observations"]]


def _write_observations(server_urls: list[str], tokens: list[str], work_id: int, writer: int,
                        count: int, acknowledged: list[str], refused: list[str],
                        stop: threading.Event | None = None) -> None:
    """File up to `count` observations (fewer if `stop` is set), turn by turn through each
    server; record which the servers acknowledged (201) and which failed (a killed server, a
    refused connection)."""
    clients = [httpx.Client(base_url=url, timeout=60) for url in server_urls]
    try:
        for n in range(count):
            if stop is not None and stop.is_set():
                return
            text = f"observación {writer}-{n}"
            client = clients[(writer + n) % len(clients)]
            try:
                response = client.post(f"/api/v1/works/{work_id}/observations",
                                       json={"text": text},
                                       headers=_auth(tokens[writer % len(tokens)]))
            except httpx.TransportError:
                refused.append(text)
                continue
            (acknowledged if response.status_code == 201 else refused).append(text)
    finally:
        for client in clients:
            client.close()


def _wait_until(condition, attempts: int = 1200) -> None:
    """Poll `condition` (bounded); the assertions after it say what must hold."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)


def test_parallel_writes_through_every_server_make_one_gap_free_log(deployment):
    servers = [deployment.serve(0, workers=2), deployment.serve(0), deployment.serve(1)]
    before = _log_size(servers[0])
    acknowledged: list[str] = []
    refused: list[str] = []
    writers = [threading.Thread(target=_write_observations, args=(
        [s.url for s in servers], deployment.member_tokens, deployment.work_id, writer, 12,
        acknowledged, refused)) for writer in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    assert refused == [] and len(acknowledged) == 6 * 12

    size = before + len(acknowledged)
    for server in servers:  # every server reads the same log
        entries = _all_entries(server)
        assert [e["seq"] for e in entries] == list(range(size))
        assert sorted(_observations(server, deployment.work_id)) == sorted(acknowledged)
    # And every machine signs the same tree head for it, with the one shared key.
    bodies = {_checkpoint_body(server) for server in servers}
    assert len(bodies) == 1 and bodies.pop().split("\n")[1] == str(size)
    check = deployment.audit_check()
    assert check.returncode == 0, check.stdout + check.stderr


def test_each_machine_serves_the_documents_uploaded_through_the_other(deployment):
    machine_a, machine_b = deployment.serve(0), deployment.serve(1, workers=2)
    uploads = {}
    for name, server in (("a", machine_a), ("b", machine_b)):
        # Larger than one chunk, different in every chunk.
        content = b"".join(hashlib.sha256(f"{name}{i}".encode()).digest()
                           for i in range(80_000))
        response = httpx.post(
            f"{server.url}/api/v1/works/{deployment.work_id}/documents",
            headers=_auth(deployment.official_token), timeout=60,
            data={"kind": "feasibilityStudy", "title": f"Estudio subido en {name}"},
            files={"file": (f"estudio-{name}.pdf", content, "application/pdf")})
        assert response.status_code == 201, response.text
        uploads[name] = (response.json(), content)

    for name, other in (("a", machine_b), ("b", machine_a)):
        document, content = uploads[name]
        assert document["sha256"] == hashlib.sha256(content).hexdigest()
        download = httpx.get(f"{other.url}/api/v1/works/{deployment.work_id}/documents/"
                             f"{document['id']}", timeout=60)
        assert download.status_code == 200
        assert download.content == content
        web = httpx.get(f"{other.url}/works/{deployment.work_id}/documents/{document['id']}"
                        "/download", timeout=60)
        assert web.status_code == 200 and web.content == content
    # Neither machine keeps documents in its data folder: they are in the database.
    assert not any((m / "documents").exists() for m in deployment.machines)


def test_kill_9_under_write_load_loses_no_acknowledged_write(deployment):
    doomed = deployment.serve(0, workers=2)
    survivor = deployment.serve(1)
    before = _log_size(survivor)
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()
    writers = [threading.Thread(target=_write_observations, args=(
        [doomed.url, survivor.url], deployment.member_tokens, deployment.work_id, writer, 500,
        acknowledged, refused, stop)) for writer in range(4)]
    for thread in writers:
        thread.start()
    try:
        # Kill one worker as soon as writes are flowing, then the whole server (supervisor and
        # workers at once), while the writers keep going through both addresses.
        _wait_until(lambda: len(acknowledged) >= 20)
        [first_worker, *_] = doomed.worker_pids()
        os.kill(first_worker, signal.SIGKILL)
        _wait_until(lambda: len(acknowledged) >= 60)
        doomed.kill()
        acknowledged_at_kill = len(acknowledged)
        after_kill = len(acknowledged) + len(refused)
        _wait_until(lambda: len(acknowledged) + len(refused) >= after_kill + 40)
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert len(acknowledged) > acknowledged_at_kill  # writes went on through the survivor
    assert refused  # and some met the dead one

    restarted = deployment.serve(0, workers=2)
    stored = _observations(restarted, deployment.work_id)
    assert set(acknowledged) <= set(stored)
    # A write the dead server never acknowledged may or may not have committed; nothing else is
    # in the log, and the log has no gap.
    assert set(stored) <= set(acknowledged) | set(refused)
    entries = _all_entries(restarted)
    assert [e["seq"] for e in entries] == list(range(before + len(stored)))
    check = deployment.audit_check(1)
    assert check.returncode == 0, check.stdout + check.stderr


def _csrf(client: httpx.Client, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, f"no form on {path}"
    return match.group(1)


def test_a_login_on_one_machine_holds_on_the_other_until_logout_anywhere(deployment):
    machine_a, machine_b = deployment.serve(0), deployment.serve(1, workers=2)
    with httpx.Client(base_url=machine_a.url, timeout=30) as browser:
        response = browser.post("/login", data={"username": "rosa", "password": PASSWORD,
                                                "csrf": _csrf(browser, "/login")})
        assert response.status_code == 303, response.text
        cookie = browser.cookies[SESSION_COOKIE]
        assert 'action="/logout"' in browser.get("/").text

        # The same cookie, sent to the other machine (another process, another data folder).
        with httpx.Client(base_url=machine_b.url, timeout=30,
                          cookies={SESSION_COOKIE: cookie}) as elsewhere:
            assert 'action="/logout"' in elsewhere.get("/").text
            logout = elsewhere.post("/logout", data={"csrf": _csrf(elsewhere, "/")})
            assert logout.status_code == 303
            assert 'action="/logout"' not in elsewhere.get("/").text

        # Logged out on B: the cookie A gave is worth nothing on A too.
        browser.cookies.clear()
        browser.cookies.set(SESSION_COOKIE, cookie)
        assert 'action="/logout"' not in browser.get("/").text
