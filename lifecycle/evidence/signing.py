"""The service's commands for members' keys and signed sign-offs (DESIGN §4.3).

`SigningCommands` is mixed into `lifecycle.service.Lifecycle`: each command is one write
transaction like the others (validate → lock → load → check → append), and
`signed_signoff_data` is the hook `record_signoff` calls before it writes a signed sign-off.
The checks themselves are the pure functions of lifecycle.evidence.keys, which `audit verify`
runs offline too.
"""

from __future__ import annotations

from contextlib import closing

from lifecycle import validation as check
from lifecycle.db import DriverTransaction
from lifecycle.errors import Conflict, Forbidden, Invalid, LifecycleError, NotFound
from lifecycle.evidence import keys as evidence
from lifecycle.evidence.keys import EvidenceError, MemberKey, SignoffView
from lifecycle.evidence.statement import (
    LogHead,
    Statement,
    current_dossier,
    new_statement,
    root_at,
)
from lifecycle.log.merkle import root_from_frontier


def refusal(exc: EvidenceError) -> LifecycleError:
    """The service's error for a refused key or signature, naming the field."""
    errors = [{"field": exc.field, "message": exc.message}]
    if exc.status == "forbidden":
        return Forbidden(str(exc), errors)
    if exc.status == "conflict":
        return Conflict(str(exc), errors)
    return Invalid(exc.field, exc.message)


class SigningCommands:
    """Commands of `Lifecycle` for DESIGN §4.3 (it provides _write, _member_work, clock…)."""

    def log_origin(self) -> str:
        origin = getattr(self, "_log_origin", None)
        if origin is None:
            from lifecycle.log.note import VKEY_FILE, parse_vkey

            origin = parse_vkey((self.data_dir / VKEY_FILE).read_text("ascii")).origin
            self._log_origin = origin
        return origin

    # ---------------------------------------------------------------------- keys
    def member_keys(self, user_id: int) -> list[MemberKey]:
        """The user's keys, revoked ones included, in registration order."""
        with DriverTransaction(self.engine, write=False) as conn:
            return list(evidence.registered_keys(conn, user_id).values())

    def signed_signoffs(self, user_id: int, limit: int = 200) -> list[dict]:
        """The user's latest signed sign-offs, newest first: {seq, at, work_id, proposal_id,
        decision, reason, key_id}, read from the log."""
        found = []
        with DriverTransaction(self.engine, write=False) as conn, \
                closing(evidence.signoff_entries(conn)) as entries:
            for entry in entries:
                data = entry["data"]
                if entry["actor"].get("id") == user_id and data.get("proof"):
                    found.append({"seq": entry["seq"], "at": entry["at"],
                                  "work_id": data["work_id"],
                                  "proposal_id": data["proposal_id"],
                                  "decision": data["decision"],
                                  "reason": data.get("reason", ""),
                                  "key_id": data["proof"]["key_id"]})
                    if len(found) >= limit:
                        break
        return found

    def key_registration_options(self, *, actor, rp_id: str, rp_name: str) -> dict:
        """Options for navigator.credentials.create(); the challenge is MAC'd, not stored."""
        _member_only(actor)
        challenge = evidence.registration_challenge(
            evidence.registration_secret(self.data_dir), actor.id, int(self.clock().timestamp()))
        return evidence.registration_options(
            user_id=actor.id, username=actor.username, rp_id=rp_id, rp_name=rp_name,
            challenge=challenge, existing=self.member_keys(actor.id))

    def register_key(self, *, actor, kind: str, public_key: str | None = None,
                     credential: dict | None = None, rp_id: str | None = None,
                     origins: list[str] | None = None) -> MemberKey:
        """Register a passkey (its registration response, verified with py_webauthn) or an
        Ed25519 public key for the member acting. The log gets the public key only."""
        _member_only(actor)
        kind = check.choice("kind", kind, evidence.KINDS)
        try:
            if kind == "ed25519":
                key = evidence.ed25519_key(actor.id, public_key)
            else:
                if not isinstance(credential, dict):
                    raise EvidenceError("credential", "a passkey registration response is "
                                                      "required")
                if not rp_id or not origins:
                    raise EvidenceError("rp_id", "the server has no WebAuthn RP id configured")
                challenge = evidence.client_challenge(credential)
                evidence.check_registration_challenge(
                    evidence.registration_secret(self.data_dir), challenge, actor.id,
                    int(self.clock().timestamp()))
                key = evidence.webauthn_key(actor.id, credential, challenge=challenge,
                                            rp_id=rp_id, origins=origins)
        except EvidenceError as exc:
            raise refusal(exc) from None
        with self._write() as tx:
            if key.key_id in evidence.registered_keys(tx.conn):
                raise Conflict(f"key {key.key_id} is already registered",
                               [{"field": "public_key", "message": "is already registered"}])
            entry = tx.emit("key.registered", actor, key.entry_data())
            return tx.state.keys[entry["data"]["key_id"]]

    def revoke_key(self, *, actor, key_id: str) -> MemberKey:
        """End one of the acting member's keys: later sign-offs it signs are refused."""
        with self._write() as tx:
            key = evidence.registered_keys(tx.conn, actor.id).get(key_id)
            if key is None:
                raise NotFound(f"you have no key {key_id}")
            if not key.active:
                raise Conflict(f"key {key_id} is already revoked")
            tx.state.keys[key_id] = key
            tx.emit("key.revoked", actor, {"user_id": actor.id, "key_id": key_id})
            return key

    # ---------------------------------------------------------------- statements
    def signoff_statement(self, *, actor, work_id: int, proposal_id: int, decision: str,
                          reason: str | None = None) -> Statement:
        """A fresh statement for the acting member to sign: the proposal as it stands, the
        dossier's latest change, the log head, and a new nonce. Nothing is written."""
        decision = check.choice("decision", decision, check.DECISIONS)
        reason = check.text("reason", reason, max_len=5000, required=decision == "block")
        from lifecycle import decide
        from lifecycle.service import refuse

        _member_only(actor)
        work = self.get_work(work_id)
        network = self.get_network(work.network_id)
        # The same permission the sign-off itself will need.
        refuse(decide.signoff(actor, network, work, proposal_id, decision, reason))
        proposal = work.proposal(proposal_id)
        with DriverTransaction(self.engine, write=False) as conn:
            dossier = current_dossier(conn, work_id)  # before the head: the head covers it
        head = self.log_head()
        return new_statement(
            log=self.log_origin(), work_id=work_id, proposal_id=proposal_id,
            trigger=proposal.trigger, decision=decision, reason=reason, member_id=actor.id,
            dossier=dossier, head=LogHead(head[0], head[1].hex()))

    def signed_signoff_data(self, tx, actor, work, proposal, data: dict, statement,
                            proof) -> dict:
        """Hook of record_signoff: verify the statement and proof against the log under the
        write lock, before anything is written; the fields they add to the entry."""
        try:
            parsed, parsed_proof = evidence.parse_evidence(statement, proof)
            view = SignoffView(
                log=self.log_origin(), log_size=tx.size, work_id=work.id,
                proposal_id=proposal.id, trigger=proposal.trigger, member_id=actor.id,
                decision=data["decision"], reason=data.get("reason", ""),
                dossier=current_dossier(tx.conn, work.id),
                used_nonces={s.nonce for s in proposal.signoffs if s.nonce})
            evidence.check_signed_signoff(parsed, parsed_proof,
                                          evidence.registered_keys(tx.conn), view)
            size, root = parsed.checkpoint.size, parsed.checkpoint.root
            current_root = root_from_frontier(tx.frontier).hex() if size == tx.size else \
                root_at(tx.conn, size)
            if root != current_root:
                raise EvidenceError("statement.checkpoint", f"the log's root at size {size} "
                                    "is not the one the statement names")
        except EvidenceError as exc:
            raise refusal(exc) from None
        return {"statement": parsed.as_dict(), "proof": parsed_proof.as_dict()}


def _member_only(actor) -> None:
    if actor.role != "member":
        raise Forbidden(f"signing keys are for network members; you are {actor.role}")


class Ed25519Signer:
    """A member signing through the engine directly with an Ed25519 key held in memory: what
    `lifecycle demo` (and tests) use so that every demo sign-off is signed. The private key
    never leaves this object; only its public key is registered."""

    def __init__(self, lc, actor, private_key=None):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from lifecycle.evidence.ed25519 import public_key_bytes
        from lifecycle.evidence.statement import b64url

        self.lc, self.actor = lc, actor
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.key = lc.register_key(actor=actor, kind="ed25519",
                                   public_key=b64url(public_key_bytes(self.private_key)))

    def proof(self, statement: Statement) -> dict:
        from lifecycle.evidence.statement import b64url

        return {"kind": "ed25519", "key_id": self.key.key_id,
                "signature": b64url(self.private_key.sign(statement.message()))}

    def signoff(self, *, work_id: int, proposal_id: int, decision: str,
                reason: str | None = None):
        """Fetch a fresh statement, sign it and record the signed sign-off."""
        statement = self.lc.signoff_statement(actor=self.actor, work_id=work_id,
                                              proposal_id=proposal_id, decision=decision,
                                              reason=reason)
        return self.lc.record_signoff(actor=self.actor, work_id=work_id,
                                      proposal_id=proposal_id, decision=decision,
                                      reason=reason, statement=statement.as_dict(),
                                      proof=self.proof(statement))
