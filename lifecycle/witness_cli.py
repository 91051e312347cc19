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


# ------------------------------------------------------------------ the demo's witnesses

DEMO_WITNESSES = (("camara", "camara.demo.pe/witness"), ("colegio", "colegio.demo.pe/witness"),
                  ("universidad", "universidad.demo.pe/witness"))


def start_demo_witnesses(data_dir: Path, host: str = "127.0.0.1"):
    """Three witnesses of the demo's organizations, each with its own key and folder under
    `<data_dir>/witnesses/`, trusting the log of `data_dir`, served by uvicorn in threads of
    this process on free loopback ports; writes `<data_dir>/witnesses.policy` (2 of 3) and
    returns (its path, the servers). Keys persist, so the policy's keys stay the same across
    restarts; the ports may change and the policy is rewritten each time."""
    import socket
    import threading

    import uvicorn

    from lifecycle.evidence.policy import POLICY_FILE
    from lifecycle.evidence.witness_server import create_witness_app

    log_vkey = (Path(data_dir) / "log.vkey").read_text("ascii").strip()
    lines = ["# Demo witnesses (lifecycle serve --demo): three organizations, any two suffice",
             f"log {log_vkey}"]
    servers = []
    for short, name in DEMO_WITNESSES:
        app = create_witness_app(Path(data_dir) / "witnesses" / short, name=name)
        app.state.store.add_log(log_vkey)
        sock = socket.socket()
        sock.bind((host, 0))
        url = f"http://{host}:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name=f"witness-{short}", daemon=True)
        thread.start()
        servers.append((server, thread))
        lines.append(f"witness {short} {app.state.store.vkey} {url}")
    lines += [f"group demo 2 {' '.join(short for short, _ in DEMO_WITNESSES)}", "quorum demo", ""]
    policy = Path(data_dir) / POLICY_FILE
    policy.write_text("\n".join(lines), "utf-8")
    for server, thread in servers:  # ready before anyone submits
        while not server.started and thread.is_alive():
            thread.join(0.02)
    return policy, servers


@witness_app.command("demo")
def demo(data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The log's data "
                                                                         "folder (default "
                                                                         "$LIFECYCLE_DATA_DIR "
                                                                         "or ./lifecycle-data).")):
    """Run the demo's three witnesses on loopback for the log of DATA_DIR and write its
    witnesses.policy; then run `LIFECYCLE_WITNESS_POLICY=<that file> lifecycle serve`."""
    import os
    import threading

    folder = (data_dir or Path(os.environ.get("LIFECYCLE_DATA_DIR", "./lifecycle-data"))
              ).resolve()
    if not (folder / "log.vkey").exists():
        typer.echo(f"error: {folder} holds no log yet (run `lifecycle demo` first)", err=True)
        raise typer.Exit(2)
    policy, servers = start_demo_witnesses(folder)
    typer.echo(f"witness policy: {policy}")
    typer.echo(policy.read_text("utf-8"))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        for server, _ in servers:
            server.should_exit = True
