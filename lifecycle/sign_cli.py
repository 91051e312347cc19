"""`lifecycle sign`: a member's own Ed25519 key for sign-off statements (DESIGN §4.3).

The high-assurance path, with no browser in between: the key file stays on the member's
machine; `statement` fetches a fresh statement from the server and shows what it says; `sign`
recomputes the statement's message itself (it never signs a hash the server hands over) and
prints the sign-off body with its proof, or submits it.

    lifecycle sign keygen --key rosa.key          # then register the printed public key
    lifecycle sign statement --url URL --token T --work 1 --proposal 2 --decision approve > st.json
    lifecycle sign sign st.json --key rosa.key --url URL --token T --submit
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lifecycle.evidence.ed25519 import public_key_bytes
from lifecycle.evidence.keys import key_id_for
from lifecycle.evidence.statement import Statement, StatementError, b64url

sign_app = typer.Typer(help="A member's Ed25519 key: keygen, statement, sign.",
                       no_args_is_help=True)
DEFAULT_KEY = "lifecycle-member.key"
KeyFile = typer.Option(None, "--key", help=f"Private key file (default $LIFECYCLE_MEMBER_KEY or "
                                           f"./{DEFAULT_KEY}).")
Url = typer.Option(None, "--url", envvar="LIFECYCLE_URL",
                   help="The server, e.g. https://vigila.example.pe")
Token = typer.Option(None, "--token", envvar="LIFECYCLE_TOKEN", help="Your API token.")


def _key_path(value: Optional[Path]) -> Path:
    return value or Path(os.environ.get("LIFECYCLE_MEMBER_KEY", DEFAULT_KEY))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        _fail(f"{path}: not a readable private key ({exc})")
    if not isinstance(key, Ed25519PrivateKey):
        _fail(f"{path}: not an Ed25519 key")
    return key


def public_body(key: Ed25519PrivateKey) -> dict:
    """The body of POST /users/me/keys for this key."""
    return {"kind": "ed25519", "public_key": b64url(public_key_bytes(key))}


def sign_statement(key: Ed25519PrivateKey, statement: dict) -> dict:
    """The sign-off body: decision, reason, the statement and its Ed25519 proof. The message is
    computed here from the statement, never taken from the server."""
    parsed = Statement.from_dict(statement)
    raw = public_key_bytes(key)
    proof = {"kind": "ed25519", "key_id": key_id_for("ed25519", raw),
             "signature": b64url(key.sign(parsed.message()))}
    body = {"decision": parsed.decision, "statement": parsed.as_dict(), "proof": proof}
    if parsed.reason:
        body["reason"] = parsed.reason
    return body


def _request(url: str, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url.rstrip("/") + "/api/v1" + path, method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        _fail(f"the server answered {exc.code}: {detail}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        _fail(f"cannot reach {url}: {exc}")


@sign_app.command()
def keygen(key: Optional[Path] = KeyFile,
           url: Optional[str] = Url, token: Optional[str] = Token,
           register: bool = typer.Option(False, "--register",
                                         help="Register the public key with the server.")):
    """Make a new Ed25519 key file (mode 0600) and print its public key and key id."""
    path = _key_path(key)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _fail(f"{path} exists; keys are never overwritten")
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    body = public_body(private)
    typer.echo(f"key file: {path}", err=True)
    typer.echo(f"key id: {key_id_for('ed25519', public_key_bytes(private))}", err=True)
    if register:
        if not url or not token:
            _fail("--register needs --url and --token")
        registered = _request(url, token, "/users/me/keys", body)
        typer.echo(f"registered as key {registered['key_id']}", err=True)
    typer.echo(json.dumps(body))


@sign_app.command()
def statement(work: int = typer.Option(..., "--work", help="Work id."),
              proposal: int = typer.Option(..., "--proposal", help="Proposal id."),
              decision: str = typer.Option(..., "--decision", help="approve, block or withdraw."),
              reason: Optional[str] = typer.Option(None, "--reason"),
              url: Optional[str] = Url, token: Optional[str] = Token):
    """Fetch a fresh statement and print it (JSON on stdout, what it says on stderr)."""
    if not url or not token:
        _fail("statement needs --url and --token (or $LIFECYCLE_URL and $LIFECYCLE_TOKEN)")
    query = urllib.parse.urlencode({"decision": decision, **({"reason": reason} if reason
                                                             else {})})
    made = _request(url, token, f"/works/{work}/proposals/{proposal}/statement?{query}")
    try:
        parsed = Statement.from_dict(made.get("statement"))
    except StatementError as exc:
        _fail(f"the server sent a malformed statement: {exc}")
    typer.echo(f"{parsed.decision} proposal {parsed.proposal} ({parsed.trigger}) of work "
               f"{parsed.work} as member {parsed.member}; reason: {parsed.reason or '-'}; "
               f"dossier {parsed.dossier[:16]}…; log {parsed.log} at size "
               f"{parsed.checkpoint.size}", err=True)
    typer.echo(json.dumps(parsed.as_dict(), ensure_ascii=False))


@sign_app.command()
def sign(statement_file: str = typer.Argument("-", help="The statement JSON (- for stdin)."),
         key: Optional[Path] = KeyFile, url: Optional[str] = Url, token: Optional[str] = Token,
         submit: bool = typer.Option(False, "--submit", help="POST the sign-off to the server.")):
    """Sign a statement with the key file; print the sign-off body with its proof."""
    text = sys.stdin.read() if statement_file == "-" else Path(statement_file).read_text("utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        _fail(f"the statement is not JSON: {exc}")
    if isinstance(data, dict) and "statement" in data and "nonce" not in data:
        data = data["statement"]  # the whole GET …/statement answer
    try:
        body = sign_statement(load_key(_key_path(key)), data)
    except StatementError as exc:
        _fail(f"not a sign-off statement: {exc}")
    if submit:
        if not url or not token:
            _fail("--submit needs --url and --token")
        statement_ = body["statement"]
        _request(url, token, f"/works/{statement_['work']}/proposals/"
                             f"{statement_['proposal']}/signoffs", body)
        typer.echo("sign-off recorded", err=True)
    typer.echo(json.dumps(body, ensure_ascii=False))
