"""E-mail notifications: the outbox is written with the entry that causes it, and the sender
delivers it over real SMTP (aiosmtpd on loopback) in the reader's language, with retries, and
without losing or repeating a message across a crash between the commit and the send."""

from __future__ import annotations

import email
import socket
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from lifecycle.bootstrap import open_lifecycle
from lifecycle.errors import Invalid
from lifecycle.outbox import (
    OutboxRow,
    SmtpTarget,
    backoff,
    deliver_due,
    load_settings,
    save_settings,
)

BASE_URL = "https://vigila.example.pe"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.target = SmtpTarget.parse(f"smtp://127.0.0.1:{controller.port}")
    yield inbox
    controller.stop()


def _rows(lc, **where) -> list[OutboxRow]:
    table = OutboxRow.__table__
    query = select(table).order_by(table.c.id)
    for name, value in where.items():
        query = query.where(table.c.__getattr__(name) == value)
    with lc.engine.connect() as conn:
        return conn.execute(query).all()


def _deliver(lc, smtp, clock, **kwargs):
    return deliver_due(lc.engine, smtp.target, mail_from="Red de Integridad <red@example.pe>",
                       base_url=BASE_URL, origin="example.pe/lifecycle", now=clock.now,
                       **kwargs)


def _with_email(world, *names, language="es", muted=()):
    for name in names:
        actor = world.members[name] if name in world.members else world.official
        save_settings(world.lc.engine, actor.id, email=f"{name}@example.pe", language=language,
                      muted=muted)


def test_a_proposal_opened_reaches_every_member_with_an_address_in_spanish(world, smtp):
    _with_email(world, "rosa", "jorge")  # the other members have no address
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rows = _rows(world.lc, kind="proposal_opened")
    assert sorted(r.user_id for r in rows) == sorted(
        [world.members["rosa"].id, world.members["jorge"].id])
    report = _deliver(world.lc, smtp, world.clock)
    assert report.sent == 2 and report.failed == 0
    to = sorted(m["To"] for m in smtp.messages)
    assert to == ["jorge@example.pe", "rosa@example.pe"]
    message = smtp.messages[0]
    assert message["Subject"] == "Revisión solicitada: LAM-2026-001"
    body = message.get_content()
    assert "Aprobar el diseño" in body or "aprobar el diseño" in body.lower()
    assert f"{BASE_URL}/works/{world.work_id}" in body
    assert message["X-Lifecycle-Entry"] == str(rows[0].seq)
    assert proposal.id == 1


def test_an_approval_gone_stale_is_told_to_its_author_only(world, smtp):
    _with_email(world, "rosa", "jorge", "ana")
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge")
    world.attach("feasibilityStudy", b"%PDF revised study")  # the dossier changes
    stale = _rows(world.lc, kind="approval_stale")
    assert sorted(r.user_id for r in stale) == sorted(
        [world.members["rosa"].id, world.members["jorge"].id])
    # A second change does not tell them again: their approvals were already stale.
    world.attach("feasibilityStudy", b"%PDF revised again")
    assert len(_rows(world.lc, kind="approval_stale")) == 2
    _deliver(world.lc, smtp, world.clock)
    stale_mail = [m for m in smtp.messages if "ya no cuenta" in m["Subject"]]
    assert len(stale_mail) == 2
    assert "se adjuntó un documento" in stale_mail[0].get_content()
    assert f"{BASE_URL}/pending" in stale_mail[0].get_content()  # the one-step re-approve


def test_english_when_the_reader_prefers_it_and_muted_kinds_are_not_queued(world, smtp):
    _with_email(world, "rosa", language="en")
    _with_email(world, "jorge", muted=["proposal_opened"])
    world.attach("feasibilityStudy")
    world.propose("approve_design")
    assert [r.user_id for r in _rows(world.lc)] == [world.members["rosa"].id]
    _deliver(world.lc, smtp, world.clock)
    assert smtp.messages[0]["Subject"] == "Review requested: LAM-2026-001"


def test_refusal_and_application_reach_the_official(world, smtp):
    _with_email(world, "oficial")
    proposal = world.propose("approve_design")  # no document, no approvals yet
    world.apply(proposal.id)
    world.attach("feasibilityStudy")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    assert world.apply(proposal.id).applied
    kinds = [r.kind for r in _rows(world.lc, user_id=world.official.id)]
    assert kinds == ["transition_refused", "proposal_applied"]
    _deliver(world.lc, smtp, world.clock)
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == ["Cambio de etapa rechazado: LAM-2026-001",
                        "Cambio de etapa aplicado: LAM-2026-001"]


def test_no_outbox_row_without_its_entry(world):
    """The rows commit with the entry or not at all: a command that fails before its commit
    leaves neither."""
    _with_email(world, "rosa", "jorge", "ana")
    world.attach("feasibilityStudy")
    size = world.lc.log_size()

    def crash(tx):
        raise RuntimeError("power cut before the commit")

    world.lc.before_commit = crash
    with pytest.raises(RuntimeError):
        world.propose("approve_design")
    world.lc.before_commit = None
    assert world.lc.log_size() == size
    assert _rows(world.lc) == []


def test_a_crash_between_commit_and_send_loses_nothing_and_sends_once(world, smtp, tmp_path):
    _with_email(world, "rosa")
    world.attach("feasibilityStudy")
    world.propose("approve_design")  # committed; the process "dies" before any send
    url = world.lc.engine.url.render_as_string(hide_password=False)
    world.lc.engine.dispose()
    restarted = open_lifecycle(world.lc.data_dir, url=url, clock=world.clock)
    try:
        assert len(_rows(restarted, status="pending")) == 1
        assert _deliver(restarted, smtp, world.clock).sent == 1
        assert _deliver(restarted, smtp, world.clock).sent == 0  # a second pass sends nothing
        assert len(smtp.messages) == 1
        row = _rows(restarted)[0]
        assert row.status == "sent" and row.attempts == 1
        assert smtp.messages[0]["Message-ID"] == f"<outbox-{row.id}.{row.seq}@vigila.example.pe>"
    finally:
        restarted.engine.dispose()


def test_a_server_that_is_down_is_retried_with_back_off(world, smtp):
    _with_email(world, "rosa")
    world.attach("feasibilityStudy")
    world.propose("approve_design")
    down = SmtpTarget.parse(f"smtp://127.0.0.1:{_free_port()}")  # nobody listens there
    report = deliver_due(world.lc.engine, down, mail_from="red@example.pe", base_url=BASE_URL,
                         origin="o", now=world.clock.now, timeout=2)
    assert report.retried == 1 and report.sent == 0
    row = _rows(world.lc)[0]
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    # Not due again at once: the back-off holds it for 30 seconds.
    assert _deliver(world.lc, smtp, world.clock).sent == 0
    world.clock.advance(seconds=31)
    assert _deliver(world.lc, smtp, world.clock).sent == 1
    assert len(smtp.messages) == 1


def test_settings_refuse_bad_addresses_languages_and_kinds(world):
    engine = world.lc.engine
    user = world.members["rosa"].id
    with pytest.raises(Invalid) as bad:
        save_settings(engine, user, email="rosa at example")
    assert bad.value.field == "email"
    with pytest.raises(Invalid) as bad:
        save_settings(engine, user, email="rosa@example.pe", language="fr")
    assert bad.value.field == "language"
    with pytest.raises(Invalid) as bad:
        save_settings(engine, user, email="rosa@example.pe", muted=["everything"])
    assert bad.value.field == "muted"
    save_settings(engine, user, email=" rosa@example.pe ", muted=["key_registered"])
    settings = load_settings(engine, user)
    assert settings.email == "rosa@example.pe" and settings.muted == {"key_registered"}
    assert not settings.wants("key_registered") and settings.wants("proposal_opened")


def test_smtp_urls():
    starttls = SmtpTarget.parse("smtp+starttls://u%40x:p@mail.example.pe")
    assert (starttls.port, starttls.security, starttls.username) == (587, "starttls", "u@x")
    target = SmtpTarget.parse("smtps://mail.example.pe")
    assert (target.port, target.security) == (465, "tls")
    with pytest.raises(Invalid):
        SmtpTarget.parse("http://mail.example.pe")


def test_back_off_doubles_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(seconds=30), timedelta(minutes=1),
                                               timedelta(minutes=2)]
    assert backoff(30) == timedelta(hours=6)



def test_an_address_given_at_registration_is_private_and_used(world, smtp):
    """`POST /users {email}` / `users add --email`: the address reaches the settings, never the
    public log, and a malformed one refuses the whole registration."""
    size = world.lc.log_size()
    with pytest.raises(Invalid) as bad:
        world.lc.create_user(actor=world.admin, username="lucia", role="member",
                             email="lucia(at)example.pe")
    assert bad.value.field == "email" and world.lc.log_size() == size
    info, _token = world.lc.create_user(actor=world.admin, username="lucia", role="member",
                                        email="lucia@example.pe")
    assert load_settings(world.lc.engine, info.id).email == "lucia@example.pe"
    assert all(b"lucia@example.pe" not in raw for raw in world.lc.entries(limit=1000))


def test_the_worker_sends_what_the_outbox_holds(world, smtp, monkeypatch):
    """`lifecycle worker` (and `serve`) drain the outbox when LIFECYCLE_SMTP_URL is set."""
    import threading
    import time

    from lifecycle.worker import Worker

    _with_email(world, "rosa")
    world.attach("feasibilityStudy")
    world.propose("approve_design")
    monkeypatch.setenv("LIFECYCLE_SMTP_URL", f"smtp://127.0.0.1:{smtp.target.port}")
    monkeypatch.setenv("LIFECYCLE_BASE_URL", BASE_URL)
    worker = Worker(world.lc, None, interval=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if smtp.messages:
                break
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(timeout=10)
    assert [m["To"] for m in smtp.messages] == ["rosa@example.pe"]
    assert f"{BASE_URL}/works/{world.work_id}" in smtp.messages[0].get_content()
    assert _rows(world.lc)[0].status == "sent"
