"""`lifecycle audit …`: export, verify and replay the log, and check the live database.

verify and replay need no database and no data folder: only the bundle and, ideally, the
verifier key the operator publishes. Problems go to standard output (the first line an auditor
reads), warnings to standard error; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

audit_app = typer.Typer(help="Export, verify and replay the log.", no_args_is_help=True)
DataDir = typer.Option(None, "--data-dir", help="Data folder (default $LIFECYCLE_DATA_DIR or "
                                                "./lifecycle-data).")
KeyOption = typer.Option(None, "--key", help="The verifier key the operator publishes "
                                              "(a file). Without it the bundle's own log.vkey "
                                              "is trusted, with a warning.")
WorkersOption = typer.Option(None, "--workers", min=1, help="Processes that check entries "
                                                           "(default: one per CPU, up to 4, "
                                                           "for bundles over 8 MB).")


def _data_dir(value: Optional[Path]) -> Path:
    return (value or Path(os.environ.get("LIFECYCLE_DATA_DIR", "./lifecycle-data"))).resolve()


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


@audit_app.command("export")
def audit_export(directory: Path = typer.Argument(..., help="Folder to write the bundle into "
                                                             "(new or empty)."),
                 data_dir: Optional[Path] = DataDir):
    """Write the log as a bundle: entries.jsonl, checkpoint, log.vkey, MANIFEST.json."""
    from lifecycle.audit.export import export_bundle
    from lifecycle.bootstrap import open_lifecycle
    from lifecycle.errors import LifecycleError

    lc = open_lifecycle(_data_dir(data_dir), migrate_schema=False)
    try:
        result = export_bundle(lc, directory, progress=True)
    except (LifecycleError, OSError) as exc:
        typer.echo(f"export failed: {getattr(exc, 'message', exc)}")
        raise typer.Exit(1) from exc
    typer.echo(f"exported {result.size} entries to {result.directory} "
               f"(root {result.root}, origin {result.origin})")


@audit_app.command("verify")
def audit_verify(
        directory: Path = typer.Argument(..., help="The bundle folder."),
        key: Optional[Path] = KeyOption,
        checkpoint: Optional[Path] = typer.Option(
            None, "--checkpoint", help="An older signed checkpoint (a file) this log must "
                                       "extend; a log that does not is reported as a FORK."),
        workers: Optional[int] = WorkersOption,
        reference: bool = typer.Option(
            False, "--reference", help="Re-encode every entry with the rfc8785 reference "
                                       "encoder, not only those the fast encoder could get "
                                       "wrong (about ten times slower)."),
        policy: Optional[Path] = typer.Option(
            None, "--policy", help="The witness policy the operator publishes (C2SP "
                                   "tlog-policy): the checkpoint's cosignatures must meet its "
                                   "quorum. Without it the bundle's witnesses.policy is "
                                   "checked, with a warning.")):
    """Check the bundle offline: every entry, the chain, the Merkle root, the signature and
    the witnesses' cosignatures."""
    from lifecycle.audit.verify import verify_bundle

    result = verify_bundle(directory, key, checkpoint, workers=workers, reference=reference,
                           progress=True, policy=policy)
    _warn(result.warnings)
    typer.echo(result.summary)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("replay")
def audit_replay(directory: Path = typer.Argument(..., help="The bundle folder."),
                 work: Optional[int] = typer.Option(None, "--work", help="Print this work's "
                                                                         "timeline."),
                 key: Optional[Path] = KeyOption,
                 workers: Optional[int] = WorkersOption):
    """Rebuild every work from the bundle and re-judge every stage change with the guards."""
    from lifecycle.audit.replay import replay_bundle

    report = replay_bundle(directory, vkey=key, work_id=work, workers=workers, progress=True)
    _warn(report.warnings)
    for line in report.timeline:
        typer.echo(line)
    for illegal in report.illegal:
        typer.echo(str(illegal))
    typer.echo(report.summary)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("check")
def audit_check(data_dir: Optional[Path] = DataDir):
    """Check the live database: the chain, the Merkle nodes, projections equal to a replay, and
    every stage change legal when it was made."""
    from lifecycle.audit.check import check_database
    from lifecycle.bootstrap import open_lifecycle

    lc = open_lifecycle(_data_dir(data_dir), migrate_schema=False)
    problems, size = check_database(lc, progress=True)
    if not problems:
        from lifecycle.reducer import ReplayError

        try:
            problems = [str(i) for i in live_illegal_transitions(lc)]
        except ReplayError as exc:
            problems = [str(exc)]
    if problems:
        for problem in problems:
            typer.echo(problem)
        raise typer.Exit(1)
    typer.echo(f"ok: {size} entries; chain, Merkle nodes and projections agree with a replay; "
               "every stage change was legal when it was made")


def live_illegal_transitions(lc, batch: int = 5000):
    """Re-judge every applied transition of the live log (already checked by check_database)."""
    import json

    from lifecycle.audit.replay import replay_entries

    def entries():
        after = -1
        while True:
            rows = lc.entries(after=after, limit=batch)
            if not rows:
                return
            for raw in rows:
                yield json.loads(raw)
            after += len(rows)

    return replay_entries(entries()).illegal
