"""What the API's speed-ups must not change: the flat route table (api/routing.py) serves and
documents the same routes, the work detail kept between reads (lifecycle/reads.py) follows
every change of the database, and commands on PostgreSQL's writer thread (api/writer.py)
still check and refuse as before."""

from __future__ import annotations

import threading

import pytest
import api.routing
from api.deps import optional_user
from api.main import create_app
from lifecycle import reads
from lifecycle.bootstrap import open_lifecycle
from tests.conftest import PG_URL

API = "/api/v1"


def _calls(dependant) -> set:
    found = set()
    for dep in dependant.dependencies:
        found.add(dep.call)
        found |= _calls(dep)
    return found


def test_the_routes_are_one_flat_list_and_every_api_route_checks_a_token(app):
    assert not [r for r in app.router.routes if hasattr(r, "original_router")]
    api_routes = [r for r in app.router.routes if getattr(r, "path", "").startswith(API)]
    assert len(api_routes) > 40
    for route in api_routes:
        assert optional_user in _calls(route.dependant), route.path


def test_the_flat_routes_are_documented_and_ordered_as_the_included_routers(lc, app,
                                                                            monkeypatch):
    monkeypatch.setattr(api.routing, "flatten_routes", lambda app_: app_)
    nested = create_app(lc)
    assert [r for r in nested.router.routes if hasattr(r, "original_router")]
    assert app.openapi() == nested.openapi()

    def table(routes):
        rows = []
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            for one in (contexts() if contexts else [route]):
                rows.append((one.path, sorted(getattr(one, "methods", None) or []),
                             getattr(one, "name", None)))
        return rows

    assert table(app.router.routes) == table(nested.router.routes)


def test_the_work_detail_follows_changes_made_here_and_by_another_process(lc, api):
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    before = api.work()
    assert before["open_proposal"]["signoffs"] == []
    assert api.work() == before  # served again from what was kept

    api.ok(api.sign(proposal, "rosa"), 201)
    seen = api.work()
    assert [s["username"] for s in seen["open_proposal"]["signoffs"]] == ["rosa"]
    assert seen["version"] == before["version"] + 1

    # Another Lifecycle on the same database stands for another worker process.
    other = open_lifecycle(lc.data_dir, url=lc.engine.url.render_as_string(hide_password=False),
                           clock=lc.clock)
    try:
        jorge = other.authenticate_token(api.tokens["jorge"])
        other.record_signoff(actor=jorge, work_id=api.work_id, proposal_id=proposal,
                             decision="approve")
        admin = other.authenticate_token(api.tokens["admin"])
        other.remove_member(actor=admin, network_id=api.network_id, user_id=api.ids["ana"])
    finally:
        other.engine.dispose()
    after = api.work()
    assert [s["username"] for s in after["open_proposal"]["signoffs"]] == ["rosa", "jorge"]
    assert after["open_proposal"]["counted_approvals"] == 2
    proposal_read = api.ok(api.get(f"/works/{api.work_id}/proposals/{proposal}"))
    assert proposal_read == after["open_proposal"]
    missing = {g["guard"] for g in after["missing"]}
    assert "quorum" in missing


def test_kept_projections_are_the_stored_ones_and_are_never_changed(lc, api):
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    api.ok(api.sign(proposal, "rosa"), 201)
    for _ in range(3):
        api.work()
        api.ok(api.get(f"/works/{api.work_id}/proposals/{proposal}"))
    work, network = reads.work_and_network(lc, api.work_id)
    assert reads.work_and_network(lc, api.work_id) == (work, network)
    again = reads.work_and_network(lc, api.work_id)
    assert again[0] is work and again[1] is network  # nothing changed: the same objects
    assert work == lc.get_work(api.work_id)
    assert network == lc.get_network(work.network_id)


def test_an_unknown_work_is_a_404_problem(api):
    response = api.get("/works/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "999999" in response.json()["detail"]


def on_postgresql(lc) -> bool:
    return lc.engine.dialect.name == "postgresql"


def test_commands_run_on_the_writer_thread_on_postgresql_and_still_refuse(lc, api):
    threads = []
    lc.before_commit = lambda tx: threads.append(threading.current_thread().name)
    try:
        api.ok(api.attach("feasibilityStudy"), 201)  # a sync route: FastAPI's thread pool
        threads.clear()
        proposal = api.ok(api.propose("approve_design"), 201)["id"]
        api.ok(api.sign(proposal, "rosa"), 201)
        assert len(threads) == 2
        on_writer = [name.startswith("lifecycle-writer") for name in threads]
        assert on_writer == [on_postgresql(lc)] * 2, threads  # SQLite: inline, on the loop

        # pedro is a member of another network only: the engine refuses, as before.
        refused = api.sign(proposal, "pedro")
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        # an official cannot sign off: the role check answers before any command runs.
        threads.clear()
        assert api.sign(proposal, "oficial").status_code == 403
        assert threads == []
    finally:
        lc.before_commit = None


# PostgreSQL only: on SQLite commands run on the event loop by design (api/writer.py).
@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="LIFECYCLE_TEST_DATABASE_URL is not set: no PostgreSQL "
                                       "to test against")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_write_does_not_hold_up_a_read(lc, api):
    """While a command waits inside its transaction on the writer thread, the same app still
    answers a read."""
    assert on_postgresql(lc)
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    entered, release = threading.Event(), threading.Event()

    def hold(tx):
        entered.set()
        release.wait(60)

    results = {}

    def sign():
        results["sign"] = api.sign(proposal, "rosa")

    def read():
        results["read"] = api.get(f"/works/{api.work_id}")

    lc.before_commit = hold
    signing = threading.Thread(target=sign)
    reading = threading.Thread(target=read)
    try:
        signing.start()
        assert entered.wait(60)
        # The sign-off is inside its transaction on the writer thread; a read arrives.
        reading.start()
        reading.join(60)  # on the event loop, a held command would keep it waiting
        assert not reading.is_alive(), "the read waited for the write"
    finally:
        release.set()
        signing.join(60)
        reading.join(60)
        lc.before_commit = None
    assert results["read"].status_code == 200
    assert results["read"].json()["open_proposal"]["signoffs"] == []  # not committed yet
    assert results["sign"].status_code == 201, results["sign"].text
