"""`lifecycle export ocds DIR` and `lifecycle import seace FILE` (DESIGN §5)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

export_app = typer.Typer(help="Publish open data.", no_args_is_help=True)
import_app = typer.Typer(help="Bring in data from other systems.", no_args_is_help=True)
err = Console(stderr=True)

DataDir = typer.Option(None, "--data-dir", help="Data folder (default $LIFECYCLE_DATA_DIR or "
                                                "./lifecycle-data).")


def _open(data_dir: Optional[Path]):
    from lifecycle.bootstrap import open_lifecycle

    folder = (data_dir or Path(os.environ.get("LIFECYCLE_DATA_DIR", "./lifecycle-data"))).resolve()
    return open_lifecycle(folder)


@export_app.command("ocds")
def export_ocds(folder: Path = typer.Argument(..., help="Folder to write the packages into."),
                data_dir: Optional[Path] = DataDir):
    """Every OCDS release and record and every OC4IDS project: three validated packages and
    JSON Lines of their items (releases.jsonl, records.jsonl, projects.jsonl)."""
    from lifecycle.opendata.publish import Feed, export
    from lifecycle.opendata.validate import InvalidPackage

    lc = _open(data_dir)
    try:
        counts = export(Feed.of(lc), folder)
    except InvalidPackage as exc:  # a bug: say so plainly, write nothing
        err.print(f"[red]error:[/red] a package does not validate, nothing written: {exc}")
        raise typer.Exit(1) from exc
    finally:
        lc.engine.dispose()
    typer.echo(f"{counts['releases']} releases, {counts['records']} records and "
               f"{counts['projects']} projects written to {folder}")


@import_app.command("seace")
def import_seace(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                             help="An OCDS record or release package from "
                                                  "SEACE."),
                 data_dir: Optional[Path] = DataDir):
    """Import every works process of the file; one line per process says what happened.
    Processes of other categories are refused, each with its reason. Importing the same file
    again changes nothing."""
    from lifecycle.errors import LifecycleError
    from lifecycle.opendata import seace
    from lifecycle.service import SYSTEM

    try:
        parsed = seace.read(file.read_bytes())
    except seace.SeaceFormatError as exc:
        err.print(f"[red]error:[/red] {file}: {exc}")
        raise typer.Exit(2) from exc
    lc = _open(data_dir)
    counts = {"imported": 0, "linked": 0, "unchanged": 0, "refused": len(parsed.refusals)}
    try:
        for process in parsed.processes:
            try:
                outcome = lc.import_work(actor=SYSTEM, process=process)
            except LifecycleError as exc:
                counts["refused"] += 1
                typer.echo(f"refused {process.source_ocid}: {exc.message}")
                continue
            counts[outcome.status] += 1
            typer.echo(f"{outcome.status} {outcome.source_ocid}: work {outcome.work_id} "
                       f"{outcome.code} ({outcome.stage})")
        for refusal in parsed.refusals:
            typer.echo(f"refused {refusal.source_ocid}: {refusal.reason}")
    finally:
        lc.engine.dispose()
    typer.echo(", ".join(f"{n} {k}" for k, n in counts.items()))
