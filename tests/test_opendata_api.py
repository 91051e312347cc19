"""The open-data API as a harvester uses it: page the release feed with `after`, fetch records
and projects, and get every release exactly once, in log order, even while others write."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from lifecycle.opendata import Publication, ocds
from lifecycle.opendata.validate import problems
from tests.conftest import SUPPLIER
from tests.test_opendata import run_to_closure


@pytest.fixture
def client(world, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_OCID_PREFIX", "ocds-test01")
    with TestClient(create_app(world.lc)) as test_client:
        yield test_client


def harvest(client, limit: int) -> list[dict]:
    """Every release, following the feed's `after` the way a harvester does."""
    releases, after = [], -1
    while True:
        response = client.get("/api/v1/ocds/releases", params={"after": after, "limit": limit})
        if response.status_code == 204:
            return releases
        assert response.status_code == 200, response.text
        package = response.json()
        assert problems(package, "release-package") == []
        releases += package["releases"]
        after = int(package["releases"][-1]["id"].rsplit("-", 1)[1])


def test_the_feed_pages_through_every_release_once_in_log_order(world, client):
    run_to_closure(world)
    releases = harvest(client, limit=3)
    seqs = [int(r["id"].rsplit("-", 1)[1]) for r in releases]
    assert seqs == sorted(set(seqs))
    entries = [json.loads(raw) for raw in world.lc.entries(limit=10_000)]
    expected = [r.data for r in ocds.releases(entries, Publication.from_env())]
    assert releases == expected
    first = client.get("/api/v1/ocds/releases", params={"limit": 2})
    assert 'rel="next"' in first.headers["link"]
    assert client.get("/api/v1/ocds/releases", params={"after": seqs[-1]}).status_code == 204


def test_record_and_project_of_a_work(world, client):
    run_to_closure(world)
    record = client.get("/api/v1/ocds/records/ocds-test01-LAM-2026-001")
    assert record.status_code == 200
    package = record.json()
    assert problems(package, "record-package") == []
    (item,) = package["records"]
    suppliers = [p for p in item["compiledRelease"]["parties"] if "supplier" in p["roles"]]
    assert suppliers[0]["identifier"]["id"] == SUPPLIER["tax_id"]
    project = client.get(f"/api/v1/oc4ids/projects/{world.work_id}")
    assert project.status_code == 200
    assert problems(project.json(), "project-package") == []
    assert project.json()["projects"][0]["status"] == "completion"


def test_unknown_ocid_or_work_is_a_404_problem(client):
    response = client.get("/api/v1/ocds/records/ocds-test01-NOPE")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/oc4ids/projects/999").status_code == 404
    assert client.get("/api/v1/oc4ids/projects/0").status_code == 422
    assert client.get("/api/v1/ocds/releases", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/ocds/releases", params={"after": "x"}).status_code == 422


def test_no_release_is_skipped_while_others_write(world, client):
    """A harvester polling the feed while officials attach documents sees every release."""
    stop = threading.Event()
    seen: list[int] = []

    def poll():
        after = -1
        while True:
            done = stop.is_set()
            response = client.get("/api/v1/ocds/releases", params={"after": after, "limit": 2})
            if response.status_code == 200:
                for release in response.json()["releases"]:
                    seq = int(release["id"].rsplit("-", 1)[1])
                    seen.append(seq)
                    after = seq
            elif done:
                return

    reader = threading.Thread(target=poll)
    reader.start()
    for n in range(12):
        world.attach("feasibilityStudy", content=f"%PDF versión {n}".encode())
    stop.set()
    reader.join(timeout=60)
    entries = [json.loads(raw) for raw in world.lc.entries(limit=10_000)]
    expected = [e["seq"] for e in entries if e["type"] in ("work.registered", "document.attached")]
    assert seen == expected
