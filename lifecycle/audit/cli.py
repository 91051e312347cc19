"""`lifecycle audit …`: export, verify and replay the log, and check the live database."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lifecycle.bootstrap import open_lifecycle

audit_app = typer.Typer(help="Export, verify and replay the log.", no_args_is_help=True)
DataDir = typer.Option(None, "--data-dir", help="Data folder (default $LIFECYCLE_DATA_DIR or "
                                                "./lifecycle-data).")


def _data_dir(value: Optional[Path]) -> Path:
    import os

    return (value or Path(os.environ.get("LIFECYCLE_DATA_DIR", "./lifecycle-data"))).resolve()


@audit_app.command("check")
def audit_check(data_dir: Optional[Path] = DataDir):
    """Check the live database: the chain, the Merkle nodes, projections equal to a replay."""
    from lifecycle.audit.check import check_database

    lc = open_lifecycle(_data_dir(data_dir), migrate_schema=False)
    problems, size = check_database(lc, progress=True)
    if problems:
        for problem in problems:
            typer.echo(problem)
        raise typer.Exit(1)
    typer.echo(f"ok: {size} entries; chain, Merkle nodes and projections agree with a replay")


