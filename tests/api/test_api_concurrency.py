"""Simultaneous applies of one proposal over real HTTP: exactly one wins, the rest get 409."""

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.main import create_app
from api_world import build_api_world  # tests/api/api_world.py

CONCURRENT_APPLIES = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served_lc(request, backend):
    if backend == "postgresql" and not os.environ.get("LIFECYCLE_TEST_DATABASE_URL"):
        pytest.skip("LIFECYCLE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    return request.getfixturevalue("lc")


@pytest.fixture
def server(served_lc):
    """uvicorn on a free loopback port, in a thread of this process."""
    app = create_app(served_lc)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    started = threading.Event()
    while thread.is_alive() and not started.wait(0.02):
        if uv.started:
            started.set()
    assert uv.started, "uvicorn did not start"
    yield app, f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_simultaneous_applies_give_one_200_and_409s(served_lc, server):
    app, base_url = server
    with TestClient(app) as client:
        world = build_api_world(served_lc, client)
    world.ok(world.attach("feasibilityStudy"), 201)
    proposal = world.ok(world.propose("approve_design"), 201)["id"]
    for name in ("rosa", "jorge", "ana"):
        world.ok(world.sign(proposal, name), 201)

    url = f"{base_url}/api/v1/works/{world.work_id}/proposals/{proposal}/apply"
    barrier = threading.Barrier(CONCURRENT_APPLIES)

    def apply_once(_):
        with httpx.Client(headers=world.auth("oficial"), timeout=60) as http:
            barrier.wait()
            return http.post(url)

    with ThreadPoolExecutor(CONCURRENT_APPLIES) as pool:
        responses = list(pool.map(apply_once, range(CONCURRENT_APPLIES)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CONCURRENT_APPLIES - 1), [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert "no longer open" in refused.json()["detail"]
    history = httpx.get(f"{base_url}/api/v1/works/{world.work_id}/history").json()
    assert [e["type"] for e in history].count("transition.applied") == 1
    assert httpx.get(f"{base_url}/api/v1/works/{world.work_id}").json()["stage"] == \
        "technical_file"
