"""Schemathesis against the app's own OpenAPI document: no operation answers 5xx, and every
response matches its documented status, media type and schema. Requests go out anonymously and
as the admin, an official and a member, on one SQLite world (shared by the module, so state
accumulates as in real use) where work 1 has documents, an observation and an open proposal."""

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from api_world import build_api_world  # tests/api/api_world.py
from lifecycle.bootstrap import open_lifecycle

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    lc = open_lifecycle(tmp_path_factory.mktemp("schemathesis") / "data")
    app = create_app(lc)
    with TestClient(app) as client:
        world = build_api_world(lc, client)
        world.ok(world.attach("feasibilityStudy"), 201)
        proposal = world.ok(world.propose("approve_design"), 201)["id"]
        world.ok(world.sign(proposal, "rosa"), 201)
        world.ok(world.post(f"/works/{world.work_id}/observations", "ana",
                            json={"text": "¿Y el estudio de suelos?"}), 201)
        yield world, app
    lc.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_world):
    # The coverage phase would add hundreds of boundary cases per operation; the examples and
    # a bounded number of generated cases keep the suite fast.
    config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_world[1], config=config)


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ = settings(max_examples=6, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def call(case, world, caller):
    case.call_and_validate(headers=world.auth(caller), checks=CHECKS)


# One test per caller: schemathesis does not combine with pytest parametrization.
@FUZZ
@schema.parametrize()
def test_anonymous_calls_conform(case, fuzz_world):
    call(case, fuzz_world[0], None)


@FUZZ
@schema.parametrize()
def test_admin_calls_conform(case, fuzz_world):
    call(case, fuzz_world[0], "admin")


@FUZZ
@schema.parametrize()
def test_official_calls_conform(case, fuzz_world):
    call(case, fuzz_world[0], "oficial")


@FUZZ
@schema.parametrize()
def test_member_calls_conform(case, fuzz_world):
    call(case, fuzz_world[0], "rosa")
