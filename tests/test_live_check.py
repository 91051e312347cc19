"""`lifecycle audit check` on the live database: it names the entry that was altered."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session
from typer.testing import CliRunner

from lifecycle.audit.check import check_database
from lifecycle.cli import app
from lifecycle.db import LogEntry, WorkRow


def test_a_clean_history_checks(world):
    world.advance("approve_design", ("feasibilityStudy",))
    problems, size = check_database(world.lc)
    assert problems == []
    assert size == world.lc.log_size()


def test_an_entry_altered_by_hand_is_named(world):
    world.advance("approve_design", ("feasibilityStudy",))
    target = next(e["seq"] for e in world.lc.history(world.work_id)
                  if e["type"] == "signoff.recorded")
    with Session(world.lc.engine) as session:
        raw = session.get(LogEntry, target).entry
        session.execute(update(LogEntry).where(LogEntry.seq == target)
                        .values(entry=raw.replace(b'"approve"', b'"approvE"')))
        session.commit()
    problems, _ = check_database(world.lc)
    assert problems == [f"entry {target}: stored leaf hash does not match"]


def test_a_projection_edited_by_hand_is_caught(world):
    with Session(world.lc.engine) as session:
        session.execute(update(WorkRow).where(WorkRow.id == world.work_id)
                        .values(stage="execution"))
        session.commit()
    problems, _ = check_database(world.lc)
    assert problems == [f"work {world.work_id}: stage or version column differs from a replay"]


def test_cli_check_exits_1_and_names_the_entry(tmp_path):
    data = tmp_path / "data"
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert len(token) > 30
    result = runner.invoke(app, ["users", "add", "rosa", "--role", "member",
                                 "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["audit", "check", "--data-dir", str(data)]).exit_code == 0
    from lifecycle.db import make_engine

    engine = make_engine(f"sqlite:///{data / 'lifecycle.db'}")
    with engine.begin() as conn:
        conn.execute(update(LogEntry).where(LogEntry.seq == 1)
                     .values(entry=LogEntry.entry.op("||")(b" ")))
    result = runner.invoke(app, ["audit", "check", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert "entry 1:" in result.output
