"""Fixtures of the API tests: the app on the `lc` engine and a world with every role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api_world import ApiWorld, build_api_world  # tests/api/api_world.py


@pytest.fixture
def app(lc):
    return create_app(lc)


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(lc, client) -> ApiWorld:
    return build_api_world(lc, client)
