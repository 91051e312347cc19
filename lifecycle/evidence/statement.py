"""Sign-off statements (DESIGN §4.3): what a member signs when approving or blocking.

A statement names the log, the work, the proposal and its trigger, the decision and reason,
the member, the dossier the member saw (the leaf hash of the latest entry that changed it), the
log head the member's page showed, and a server nonce that makes it single-use. The member's
key signs

    SHA-256("lifecycle-signoff/v1\\n" ‖ JCS(statement))

directly (Ed25519), or as the WebAuthn challenge (passkeys). JCS is the log's own canonical
encoder (RFC 8785 within the log's profile), so a statement in an entry hashes to the message
its proof signed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from lifecycle.log.canonical import CanonicalError, encode

STATEMENT_TYPE = "lifecycle.signoff"
STATEMENT_VERSION = 1
MESSAGE_PREFIX = b"lifecycle-signoff/v1\n"
STATEMENT_KEYS = frozenset({"v", "type", "log", "work", "proposal", "trigger", "decision",
                            "reason", "member", "dossier", "checkpoint", "nonce"})
SIGNED_DECISIONS = ("approve", "block", "withdraw")
# The entries that change what a member reviews: the work as registered or corrected, its
# documents and its observations with their answers. A sign-off names the latest of them.
DOSSIER_TYPES = ("work.registered", "work.corrected", "document.attached",
                 "observation.filed", "observation.answered", "observation.accepted",
                 "observation.rejected")
NONCE_BYTES = 16
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class StatementError(ValueError):
    """A statement that is not well formed; `field` names the part."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_nonce() -> str:
    return b64url(secrets.token_bytes(NONCE_BYTES))


@dataclass(frozen=True)
class LogHead:
    """The log head the member's page showed: a size and its Merkle root (hex)."""

    size: int
    root: str

    def as_dict(self) -> dict:
        return {"size": self.size, "root": self.root}


@dataclass(frozen=True)
class Statement:
    log: str
    work: int
    proposal: int
    trigger: str
    decision: str
    reason: str
    member: int
    dossier: str
    checkpoint: LogHead
    nonce: str
    v: int = STATEMENT_VERSION
    type: str = STATEMENT_TYPE

    def as_dict(self) -> dict:
        return {"v": self.v, "type": self.type, "log": self.log, "work": self.work,
                "proposal": self.proposal, "trigger": self.trigger, "decision": self.decision,
                "reason": self.reason, "member": self.member, "dossier": self.dossier,
                "checkpoint": self.checkpoint.as_dict(), "nonce": self.nonce}

    def canonical(self) -> bytes:
        return encode(self.as_dict())

    def message(self) -> bytes:
        """The 32 bytes a member's key signs."""
        return signed_message(self.as_dict())

    @classmethod
    def from_dict(cls, data) -> Statement:
        """Parse a statement exactly: the twelve keys of DESIGN §4.3, each of its type."""
        if not isinstance(data, dict):
            raise StatementError("statement", "must be a JSON object")
        if data.keys() != STATEMENT_KEYS:
            extra = sorted(data.keys() - STATEMENT_KEYS)
            missing = sorted(STATEMENT_KEYS - data.keys())
            raise StatementError("statement", "keys must be exactly those of DESIGN §4.3"
                                 + (f"; unexpected {', '.join(map(str, extra))}" if extra else "")
                                 + (f"; missing {', '.join(missing)}" if missing else ""))
        if data["v"] != STATEMENT_VERSION or type(data["v"]) is not int:
            raise StatementError("statement.v", f"is {data['v']!r}; this reads version 1")
        if data["type"] != STATEMENT_TYPE:
            raise StatementError("statement.type", f"must be {STATEMENT_TYPE!r}")
        for name in ("work", "proposal", "member"):
            if type(data[name]) is not int or data[name] < 0:
                raise StatementError(f"statement.{name}", "must be a non-negative integer")
        for name in ("log", "trigger", "decision", "reason"):
            if not isinstance(data[name], str):
                raise StatementError(f"statement.{name}", "must be a string")
        if data["decision"] not in SIGNED_DECISIONS:
            raise StatementError("statement.decision", "must be approve, block or withdraw")
        if not isinstance(data["dossier"], str) or not _HEX64.fullmatch(data["dossier"]):
            raise StatementError("statement.dossier", "must be a hex SHA-256 leaf hash")
        if not isinstance(data["nonce"], str) or not _NONCE.fullmatch(data["nonce"]):
            raise StatementError("statement.nonce", "must be a base64url server nonce")
        head = data["checkpoint"]
        if not isinstance(head, dict) or head.keys() != {"size", "root"}:
            raise StatementError("statement.checkpoint", "must be {size, root}")
        if type(head["size"]) is not int or head["size"] < 1:
            raise StatementError("statement.checkpoint.size", "must be a positive integer")
        if not isinstance(head["root"], str) or not _HEX64.fullmatch(head["root"]):
            raise StatementError("statement.checkpoint.root", "must be a hex Merkle root")
        statement = cls(log=data["log"], work=data["work"], proposal=data["proposal"],
                        trigger=data["trigger"], decision=data["decision"],
                        reason=data["reason"], member=data["member"], dossier=data["dossier"],
                        checkpoint=LogHead(head["size"], head["root"]), nonce=data["nonce"])
        try:
            statement.canonical()
        except CanonicalError as exc:
            raise StatementError("statement", f"cannot be encoded canonically: {exc}") from None
        return statement


def signed_message(statement: dict) -> bytes:
    """SHA-256("lifecycle-signoff/v1\\n" ‖ JCS(statement))."""
    return hashlib.sha256(MESSAGE_PREFIX + encode(statement)).digest()


def new_statement(*, log: str, work_id: int, proposal_id: int, trigger: str, decision: str,
                  reason: str, member_id: int, dossier: str, head: LogHead) -> Statement:
    """A fresh statement for a member to sign: the given view, and a new nonce."""
    return Statement(log=log, work=work_id, proposal=proposal_id, trigger=trigger,
                     decision=decision, reason=reason or "", member=member_id, dossier=dossier,
                     checkpoint=head, nonce=new_nonce())


# ------------------------------------------------------------------- the live log
# Reads on the service's own transaction (a lifecycle.db.DriverTransaction), so a statement is
# checked against the log exactly as the entry it becomes will follow it.

def _live_queries():
    from sqlalchemy import bindparam, or_, select

    from lifecycle.db import LogEntry, MerkleNode, Prepared

    log, nodes = LogEntry.__table__, MerkleNode.__table__
    dossier = Prepared(
        select(log.c.leaf_hash)
        .where(log.c.work_id == bindparam("work_id"),
               or_(*(log.c.type == kind for kind in DOSSIER_TYPES)))
        .order_by(log.c.seq.desc()).limit(1))
    node = Prepared(select(nodes.c.hash).where(nodes.c.level == bindparam("level"),
                                               nodes.c.idx == bindparam("idx")))
    return dossier, node


_QUERIES: tuple | None = None


def _queries():
    global _QUERIES
    if _QUERIES is None:
        _QUERIES = _live_queries()
    return _QUERIES


def current_dossier(conn, work_id: int) -> str:
    """Hex leaf hash of the latest entry that changed the work's dossier (its registration at
    least)."""
    row = _queries()[0].one(conn, {"work_id": work_id})
    return bytes(row[0]).hex() if row else ""


class _ConnNodes:
    def __init__(self, conn):
        self.conn = conn

    def get_node(self, level: int, index: int) -> bytes:
        row = _queries()[1].one(self.conn, {"level": level, "idx": index})
        if row is None:
            raise KeyError((level, index))
        return bytes(row[0])


def root_at(conn, size: int) -> str:
    """Hex Merkle root of the first `size` entries, from the stored subtree hashes."""
    from lifecycle.log.merkle import root

    return root(_ConnNodes(conn), size).hex()
