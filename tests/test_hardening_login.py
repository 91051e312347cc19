"""Login throttling (issue 14): per-account and per-address limits with 429 and Retry-After, a
lockout notice that does not say whether the account exists, and counts that every server
process sharing the database sees. Through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from api.main import create_app
from api.throttle import ACCOUNT_POLICY, ADDRESS_POLICY
from lifecycle.bootstrap import open_lifecycle
from lifecycle.throttle_store import ThrottlePolicy, after_failure, locked_for
from tests.test_hardening_web import PASSWORD, Visitor

LOCKED_TEXT = "Demasiados intentos fallidos"


@pytest.fixture
def app(world):
    rosa = next(u for u in world.lc.users() if u.username == "rosa")
    world.lc.set_password(user_id=rosa.id, password=PASSWORD)
    return create_app(world.lc)


def attempt(visitor: Visitor, username: str, password: str = "wrong"):
    return visitor.post("/login", {"username": username, "password": password}, page="/login")


def fail_until_locked(visitor: Visitor, username: str):
    for _ in range(ACCOUNT_POLICY.max_failures - 1):
        response = attempt(visitor, username)
        assert response.status_code == 401 and LOCKED_TEXT not in response.text
    return attempt(visitor, username)


def test_wrong_passwords_lock_the_account_name_with_429_and_retry_after(app, world, clock):
    visitor = Visitor(app)
    locked = fail_until_locked(visitor, "rosa")
    assert locked.status_code == 429 and LOCKED_TEXT in locked.text
    assert 0 < int(locked.headers["retry-after"]) <= ACCOUNT_POLICY.lockout.total_seconds()
    # While locked even the right password is not looked at.
    right = attempt(visitor, "rosa", PASSWORD)
    assert right.status_code == 429 and "Cerrar sesión" not in right.text
    # From another address too: the name is locked, not the browser.
    other = Visitor(app, address="203.0.113.9")
    assert attempt(other, "rosa", PASSWORD).status_code == 429
    # When the lockout is over the right password works again.
    clock.advance(seconds=ACCOUNT_POLICY.lockout.total_seconds() + 1)
    assert attempt(visitor, "rosa", PASSWORD).status_code == 200


def test_the_lockout_says_the_same_for_an_account_that_does_not_exist(app):
    real = fail_until_locked(Visitor(app), "rosa")
    invented = fail_until_locked(Visitor(app), "nadie-se-llama-asi")
    assert real.status_code == invented.status_code == 429
    assert real.headers["retry-after"] == invented.headers["retry-after"]

    def notice(response) -> str:
        text = response.text
        start = text.index('role="alert"')
        return text[start:text.index("</p>", start)]

    assert notice(real) == notice(invented)


def test_a_right_password_clears_the_count_of_that_name(app):
    visitor = Visitor(app)
    for _ in range(ACCOUNT_POLICY.max_failures - 1):
        assert attempt(visitor, "rosa").status_code == 401
    assert attempt(visitor, "rosa", PASSWORD).status_code == 200
    visitor.post("/logout", page="/")
    for _ in range(ACCOUNT_POLICY.max_failures - 1):
        assert attempt(visitor, "rosa").status_code == 401


def test_one_address_guessing_many_names_is_locked(app):
    visitor = Visitor(app)
    for number in range(ADDRESS_POLICY.max_failures - 1):
        assert attempt(visitor, f"usuario{number}").status_code == 401
    locked = attempt(visitor, "otro-nombre")
    assert locked.status_code == 429 and "retry-after" in locked.headers
    # Someone at another address is not affected.
    other = Visitor(app, address="198.51.100.7")
    assert attempt(other, "rosa", PASSWORD).status_code == 200


def test_the_count_is_shared_by_every_process_on_the_database(app, world, tmp_path):
    """A second server process (its own engine, its own app) on the same database sees the
    lockout the first one counted."""
    url = world.lc.engine.url.render_as_string(hide_password=False)
    second_lc = open_lifecycle(world.lc.data_dir, url=url, clock=world.clock)
    try:
        assert fail_until_locked(Visitor(app), "rosa").status_code == 429
        assert attempt(Visitor(create_app(second_lc)), "rosa", PASSWORD).status_code == 429
    finally:
        second_lc.engine.dispose()


def test_names_and_passwords_with_odd_characters_are_an_ordinary_failure(app):
    visitor = Visitor(app)
    for username in ("ro\x00sa", "rosa\x7f", "ＲＯＳＡ", "r" * 10_000):
        response = attempt(visitor, username)
        assert response.status_code == 401, username
    assert attempt(visitor, "rosa", "\x00" * 50).status_code == 401


# ---------------------------------------------------------------------- the pure rule
POLICY = ThrottlePolicy(max_failures=3, window=ACCOUNT_POLICY.window,
                        lockout=ACCOUNT_POLICY.lockout)


def test_failures_outside_the_window_start_a_new_count(clock):
    at = clock()
    state = after_failure(None, at, POLICY)
    state = after_failure(state, at, POLICY)
    assert state.failures == 2 and locked_for(state, at) is None
    later = at + POLICY.window
    state = after_failure(state, later, POLICY)
    assert state.failures == 1 and locked_for(state, later) is None


def test_the_failure_that_reaches_the_limit_locks_for_the_lockout(clock):
    at = clock()
    state = None
    for _ in range(POLICY.max_failures):
        state = after_failure(state, at, POLICY)
    assert locked_for(state, at) == POLICY.lockout
    assert locked_for(state, at + POLICY.lockout) is None


def test_a_failure_during_the_lockout_does_not_lift_it(clock):
    at = clock()
    state = None
    for _ in range(POLICY.max_failures):
        state = after_failure(state, at, POLICY)
    later = at + POLICY.lockout / 2
    assert after_failure(state, later, POLICY) == state
    assert locked_for(after_failure(state, later, POLICY), later) == POLICY.lockout / 2
