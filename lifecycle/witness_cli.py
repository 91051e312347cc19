"""`lifecycle witness serve|add-log|vkey`: run a C2SP tlog-witness (DESIGN §4.4).

Any organization of a network can run one: it has its own Ed25519 key and name, keeps its
state in a SQLite file in its own folder, and cosigns the checkpoints of the logs it trusts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

witness_app = typer.Typer(help="Run a witness that cosigns the log's checkpoints.",
                          no_args_is_help=True)
WitnessDir = typer.Option(..., "--data-dir", help="The witness's own folder (key, name, "
                                                   "witness.db).")
NameOption = typer.Option(None, "--name", help="The witness's key name, e.g. "
                                                "camara.example/witness (needed the first "
                                                "time, when the key is made).")


def _store(data_dir: Path, name: Optional[str]):
    from lifecycle.evidence.witness import WitnessStore
    from lifecycle.log.note import NoteError

    try:
        return WitnessStore(data_dir, name)
    except NoteError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@witness_app.command("serve")
def serve(data_dir: Path = WitnessDir,
          port: int = typer.Option(7380, "--port"),
          host: str = typer.Option("127.0.0.1", "--host"),
          name: Optional[str] = NameOption,
          prefix: str = typer.Option("", "--prefix", help="Submission prefix of the URL.")):
    """Serve POST <prefix>/add-checkpoint; prints the witness's verifier key first."""
    import uvicorn

    from lifecycle.evidence.witness_server import create_witness_app

    store = _store(data_dir, name)
    typer.echo(store.vkey)
    if not store.logs():
        typer.echo("warning: no trusted log yet: run `lifecycle witness add-log VKEY`", err=True)
    uvicorn.run(create_witness_app(data_dir, prefix=prefix), host=host, port=port,
                access_log=False)


@witness_app.command("add-log")
def add_log(vkey: str = typer.Argument(..., help="The log's verifier key "
                                                 "(<origin>+<key id>+<key>), or a file "
                                                 "holding it."),
            data_dir: Path = WitnessDir, name: Optional[str] = NameOption):
    """Trust a log: cosign its checkpoints from now on."""
    from lifecycle.log.note import NoteError

    text = Path(vkey).read_text("ascii") if Path(vkey).is_file() else vkey
    store = _store(data_dir, name)
    try:
        log = store.add_log(text.strip())
    except NoteError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"trusting {log.origin} ({log.key_id.hex()}); witness key:")
    typer.echo(store.vkey)


@witness_app.command("vkey")
def vkey(data_dir: Path = WitnessDir, name: Optional[str] = NameOption):
    """Print the witness's verifier key (for the log operator's policy file)."""
    typer.echo(_store(data_dir, name).vkey)
