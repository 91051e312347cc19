"""The `lifecycle` command line (DESIGN §5)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from lifecycle.audit.cli import audit_app
from lifecycle.witness_cli import witness_app
from lifecycle.sign_cli import sign_app
from lifecycle.errors import LifecycleError
from lifecycle.opendata.cli import export_app, import_app

# The engine (SQLAlchemy and the rest) is imported inside the commands that open it, so that
# `lifecycle audit verify` and `replay`, which need only the bundle, start quickly and small.

app = typer.Typer(help="lifecycle: public works under civil-society oversight.",
                  no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")  # export ocds (DESIGN §6)
app.add_typer(import_app, name="import")  # import seace
app.add_typer(witness_app, name="witness")
app.add_typer(sign_app, name="sign")  # a member's Ed25519 key (DESIGN §4.3)
err = Console(stderr=True)


def _data_dir(value: Optional[Path]) -> Path:
    return (value or Path(os.environ.get("LIFECYCLE_DATA_DIR", "./lifecycle-data"))).resolve()


DataDir = typer.Option(None, "--data-dir", help="Data folder (default $LIFECYCLE_DATA_DIR or "
                                                "./lifecycle-data).")


@app.command()
def init(data_dir: Optional[Path] = DataDir,
         admin: str = typer.Option("admin", help="Username of the first admin."),
         password: Optional[str] = typer.Option(None, help="Web password of the first admin.")):
    """Create the data folder, run migrations and create the first admin (prints its token)."""
    from lifecycle.bootstrap import init as init_admin
    from lifecycle.bootstrap import open_lifecycle

    lc = open_lifecycle(_data_dir(data_dir))
    token = init_admin(lc, admin=admin, password=password)
    if token is None:
        typer.echo(f"already initialised: {lc.data_dir}")
        return
    typer.echo(f"data folder: {lc.data_dir}")
    typer.echo(f"admin user: {admin}; its API token (shown once):")
    typer.echo(token)


@app.command()
def demo(data_dir: Optional[Path] = DataDir):
    """Init plus a realistic demo dataset; prints `role username token` per demo user."""
    from lifecycle.demo import build_demo

    folder = _data_dir(data_dir)
    try:
        users = build_demo(folder)
    except LifecycleError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    for role, username, token in users:
        typer.echo(f"{role} {username} {token}")


@app.command()
def serve(demo: bool = typer.Option(False, "--demo", help="Load the demo data first if the "
                                                           "data folder is empty."),
          host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          access_log: bool = typer.Option(True, help="Log every request (uvicorn's access "
                                                     "log)."),
          workers: int = typer.Option(1, min=1, help="Worker processes (each builds the app "
                                                     "from the environment; use PostgreSQL "
                                                     "for more than one)."),
          forwarded_allow_ips: Optional[str] = typer.Option(
              None, help="Addresses of the reverse proxies whose X-Forwarded-For and "
                         "X-Forwarded-Proto to trust (default $FORWARDED_ALLOW_IPS or "
                         "127.0.0.1)."),
          no_worker: bool = typer.Option(False, "--no-worker", help="Do not run the worker "
                                                                    "(checkpoint publishing) "
                                                                    "in this process."),
          data_dir: Optional[Path] = DataDir):
    """Serve the web app and the API with uvicorn."""
    import uvicorn

    folder = _data_dir(data_dir)
    os.environ["LIFECYCLE_DATA_DIR"] = str(folder)
    if demo:
        from lifecycle.demo import build_demo, has_data

        if not has_data(folder):
            err.print("building the demo data…")
            for role, username, token in build_demo(folder):
                typer.echo(f"{role} {username} {token}")
    else:
        from lifecycle.bootstrap import init as init_admin
        from lifecycle.bootstrap import open_lifecycle

        lc = open_lifecycle(folder)
        token = init_admin(lc)
        lc.engine.dispose()  # the workers open their own connections
        if token:
            typer.echo(f"admin admin {token}")
    if demo and not no_worker and not os.environ.get("LIFECYCLE_WITNESS_POLICY"):
        from lifecycle.witness_cli import start_demo_witnesses  # the demo's own witnesses

        policy, _ = start_demo_witnesses(folder)
        os.environ["LIFECYCLE_WITNESS_POLICY"] = str(policy)
        err.print(f"demo witnesses on loopback; policy: {policy}")
    if not no_worker:  # one worker across processes and machines: it waits for its lock
        from lifecycle.worker import start_background_worker

        start_background_worker(folder)
    # An import string, not an app: with several workers each process builds its own app from
    # the environment ($LIFECYCLE_DATA_DIR, $LIFECYCLE_DATABASE_URL, ...); none keeps state of
    # its own, so any of them may answer any request.
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port,
                access_log=access_log, workers=workers, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips)


@app.command()
def worker(data_dir: Optional[Path] = DataDir,
           once: bool = typer.Option(False, "--once", help="Publish the current checkpoint to "
                                                           "every witness once, print what each "
                                                           "answered, and exit."),
           interval: float = typer.Option(1.0, min=0.05, help="Seconds between rounds.")):
    """Run the worker alone: checkpoint publishing to the witnesses of
    $LIFECYCLE_WITNESS_POLICY (one worker at a time across processes)."""
    import logging
    import signal

    from lifecycle.bootstrap import open_lifecycle
    from lifecycle.evidence.policy import PolicyError, configured_policy
    from lifecycle.worker import CheckpointPublisher, Worker

    try:
        policy = configured_policy()
    except PolicyError as exc:
        err.print(f"[red]error:[/red] witness policy: {exc}")
        raise typer.Exit(2) from exc
    lc = open_lifecycle(_data_dir(data_dir), migrate_schema=False)
    if once:
        if policy is None:
            err.print("no $LIFECYCLE_WITNESS_POLICY: nothing to publish to")
            raise typer.Exit(2)
        publisher = CheckpointPublisher(lc, policy)
        outcomes = publisher.publish_once()
        publisher.close()
        for outcome in outcomes:
            typer.echo(f"{outcome.witness}: " + ("cosigned" if outcome.cosigned else
                                                 f"not cosigned: {outcome.message}")
                       + f" (size {outcome.size})")
        if any(not o.cosigned for o in outcomes):
            raise typer.Exit(1)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runner = Worker(lc, policy, interval=interval)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()


@users_app.command("add")
def users_add(username: str,
              role: str = typer.Option(..., help="admin, official, member or auditor"),
              organization: Optional[int] = typer.Option(
                  None, help="Organization id (for an official: its public entity)."),
              password: Optional[str] = typer.Option(None, help="Web password."),
              email: Optional[str] = typer.Option(
                  None, help="Where notifications go (private: never in the log)."),
              data_dir: Optional[Path] = DataDir):
    """Add a user; prints its API token once, alone on the last line."""
    from lifecycle.bootstrap import open_lifecycle
    from lifecycle.service import SYSTEM

    lc = open_lifecycle(_data_dir(data_dir))
    try:
        user, token = lc.create_user(actor=SYSTEM, username=username, role=role,
                                     organization_id=organization,
                                     password=password, email=email)
    except LifecycleError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    typer.echo(f"user {user.username} (id {user.id}, {user.role}) created; API token:")
    typer.echo(token)


def main() -> None:  # pragma: no cover
    app()
