"""Offline checks of members' keys and signatures (DESIGN §4.3), entry by entry in log order.

`SignatureAudit` is what `lifecycle audit verify` runs on every key and signed sign-off of a
bundle (the project's own verifiers, lifecycle.evidence.webauthn and .ed25519); the judges are
what `lifecycle audit replay` adds to the service's own rules for the same entries. Both use
the live path's check (lifecycle.evidence.keys.check_signed_signoff), so the server and the
auditor reach one verdict.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from lifecycle.evidence.keys import (
    EvidenceError,
    MemberKey,
    SignoffView,
    check_signed_signoff,
    parse_evidence,
)
from lifecycle.evidence.statement import DOSSIER_TYPES
from lifecycle.log.canonical import decode_verified


# --------------------------------------------------------------------- offline audit

_TYPE_MARK = b',"type":"'
_PROPOSAL_TYPES = ("proposal.opened", "proposal.withdrawn", "transition.applied",
                   "signoff.recorded")
AUDITED_TYPES = frozenset(("key.registered", "key.revoked", *_PROPOSAL_TYPES, *DOSSIER_TYPES))


def entry_type(raw: bytes) -> bytes:
    """The type of a canonical entry without decoding it: keys are sorted, so the top-level
    `type` is the last one (only `v`, an integer, follows it)."""
    at = raw.rfind(_TYPE_MARK)
    if at < 0:
        return b""
    start = at + len(_TYPE_MARK)
    return raw[start:raw.find(b'"', start)]


_AUDITED_BYTES = frozenset(t.encode() for t in AUDITED_TYPES)

class SignatureAudit:
    """`audit verify`'s check of keys and member signatures, entry by entry, in log order.

    It keeps only what later entries need — the keys, each work's latest dossier leaf, and the
    open proposals' triggers and nonces — never the entries, so memory stays bounded.

    With `defer`, a signed sign-off is not checked here: `check_blob` records it as a job item
    (its line and the state it is checked against: the proposal's trigger and nonces so far,
    the work's dossier, the signing key as registered then), and `take_jobs` hands the items
    over, in log order, to `check_signoffs`, which runs the very same check (`_signoff`, hence
    the live path's check_signed_signoff) anywhere — in verify's worker processes. The state
    moves on as if each check passed; any that fails stops the verification at its entry, so
    nothing that followed it matters."""

    def __init__(self, origin: str, *, defer: bool = False):
        self.origin = origin
        self.keys: dict[str, MemberKey] = {}
        self.dossiers: dict[int, str] = {}
        self.open: dict[tuple[int, int], tuple[str, set[str]]] = {}
        self.signed = 0
        self.defer = defer
        self.jobs: list[tuple] = []

    def check_blob(self, blob: bytes, start: int, count: int) -> tuple[int, str] | None:
        """Check the first `count` lines of `blob` (entries start, start+1, …); the first
        problem as (seq, reason)."""
        for offset, raw in enumerate(blob.split(b"\n", count)[:count]):
            if entry_type(raw) in _AUDITED_BYTES:
                seq = start + offset
                problem = self.check(seq, raw, decode_verified(raw))
                if problem:
                    return seq, problem
        return None

    def take_jobs(self) -> list[tuple]:
        jobs, self.jobs = self.jobs, []
        return jobs

    def check(self, seq: int, raw: bytes, entry: dict) -> str | None:
        kind, data = entry["type"], entry["data"]
        try:
            if kind in DOSSIER_TYPES:
                self.dossiers[data["work_id"]] = hashlib.sha256(b"\x00" + raw).hexdigest()
            elif kind == "key.registered":
                key = MemberKey.from_entry(entry)
                if entry["actor"].get("id") != key.user_id:
                    return f"key.registered: key {key.key_id} was not registered by its member"
                if key.key_id in self.keys:
                    return f"key.registered: key {key.key_id} is already registered"
                self.keys[key.key_id] = key
            elif kind == "key.revoked":
                key = self.keys.get(data.get("key_id"))
                if key is None or key.user_id != data.get("user_id"):
                    return f"key.revoked: unknown key {data.get('key_id')!r}"
                # A new object, not a change to the old one: a deferred check holds the key as
                # it was when its sign-off was made.
                self.keys[key.key_id] = replace(key, revoked_seq=seq)
            elif kind == "proposal.opened":
                self.open[(data["work_id"], data["proposal_id"])] = (data["trigger"], set())
            elif kind in ("proposal.withdrawn", "transition.applied"):
                self.open.pop((data["work_id"], data["proposal_id"]), None)
            elif kind == "signoff.recorded" and ("statement" in data or "proof" in data):
                if self.defer:
                    self._defer(seq, raw, entry, data)
                else:
                    self._signoff(seq, entry, data)
        except EvidenceError as exc:
            return f"{kind}: {exc}"
        except (KeyError, TypeError, AttributeError) as exc:
            return f"{kind}: malformed data ({exc!r})"
        return None

    def _defer(self, seq: int, raw: bytes, entry: dict, data: dict) -> None:
        """Record the sign-off's check with the state it needs, and move on as if it passed.
        Anything the state cannot be read for fails in `_signoff` too: it is left to it."""
        opened = key = None
        dossier = ""
        try:
            work_id, proposal_id = data["work_id"], data["proposal_id"]
            opened = self.open.get((work_id, proposal_id))
            dossier = self.dossiers.get(work_id, "")
            key = self.keys.get((data.get("proof") or {}).get("key_id"))
        except (KeyError, TypeError, AttributeError):
            pass
        nonces = None
        if opened is not None:
            trigger, used = opened
            nonces = frozenset(used)
            statement = data.get("statement")
            nonce = statement.get("nonce") if type(statement) is dict else None
            if type(nonce) is str:
                used.add(nonce)
            opened = (trigger, nonces)
        self.jobs.append((seq, raw, opened, dossier, key))
        self.signed += 1

    def _signoff(self, seq: int, entry: dict, data: dict) -> None:
        statement, proof = parse_evidence(data.get("statement"), data.get("proof"))
        opened = self.open.get((data["work_id"], data["proposal_id"]))
        if opened is None:
            raise EvidenceError("proposal", "the proposal is not open")
        trigger, nonces = opened
        view = SignoffView(
            log=self.origin, log_size=seq, work_id=data["work_id"],
            proposal_id=data["proposal_id"], trigger=trigger, member_id=entry["actor"]["id"],
            decision=data["decision"], reason=data.get("reason", ""),
            dossier=self.dossiers.get(data["work_id"], ""), used_nonces=nonces)
        check_signed_signoff(statement, proof, self.keys, view)
        if not isinstance(nonces, frozenset):
            nonces.add(statement.nonce)
        self.signed += 1


def check_signoffs(origin: str, jobs: list[tuple]) -> tuple[int, str] | None:
    """Run deferred sign-off checks (SignatureAudit(defer=True)), in order: the first problem
    as (seq, reason), exactly as the sequential check reports it."""
    for seq, raw, opened, dossier, key in jobs:
        entry = decode_verified(raw)
        data = entry["data"]
        audit = SignatureAudit(origin)
        if opened is not None:
            audit.open[(data["work_id"], data["proposal_id"])] = opened
        if dossier:
            audit.dossiers[data["work_id"]] = dossier
        if key is not None:
            audit.keys[key.key_id] = key
        try:
            audit._signoff(seq, entry, data)
        except EvidenceError as exc:
            return seq, f"signoff.recorded: {exc}"
        except (KeyError, TypeError, AttributeError) as exc:
            return seq, f"signoff.recorded: malformed data ({exc!r})"
    return None


# ------------------------------------------------------------------- replay's judges

def _refusal(rule: str, message: str, kind: str = "conflict"):
    from lifecycle.decide import Refusal

    return [Refusal(rule, message, kind)]


def _judge_key_registered(state, person, data, at):
    """A member registers their own keys; a key is registered once."""
    if getattr(person, "role", None) != "member" or getattr(person, "id", None) != \
            data.get("user_id"):
        return _refusal("key_owner", "a key is registered by the member it belongs to",
                        "forbidden")
    if data.get("key_id") in state.keys:
        return _refusal("key", f"key {data.get('key_id')} is already registered")
    return []


def _judge_key_revoked(state, person, data, at):
    """Only its member revokes a key, once."""
    key = state.keys.get(data.get("key_id"))
    if key is None or key.user_id != getattr(person, "id", None) or \
            data.get("user_id") != key.user_id:
        return _refusal("key_owner", f"no key {data.get('key_id')} of this member", "not_found")
    if not key.active:
        return _refusal("key", f"key {key.key_id} is already revoked")
    return []


def _signed_signoff_judge(signoff_judge):
    def judge(state, person, data, at):
        """The service's sign-off rules, and for a signed one: a registered, unrevoked key of
        this member, and a nonce this proposal has not seen (the proof itself: audit verify)."""
        refusals = signoff_judge(state, person, data, at)
        if refusals or data.get("proof") is None:
            return refusals
        key = state.keys.get((data.get("proof") or {}).get("key_id"))
        if key is None:
            return _refusal("signature", "the key that signed is not registered", "invalid")
        if key.user_id != getattr(person, "id", None):
            return _refusal("signature", f"key {key.key_id} is another member's", "forbidden")
        if not key.active:
            return _refusal("signature", f"key {key.key_id} was revoked", "forbidden")
        work = state.works.get(data.get("work_id"))
        proposal = work.proposal(data.get("proposal_id", 0)) if work else None
        nonce = (data.get("statement") or {}).get("nonce")
        if proposal is not None:
            for signoff in proposal.signoffs:
                if signoff.nonce == nonce:
                    return _refusal("signature", "this statement was already used")
        return []
    return judge


def replay_judges(signoff_judge) -> dict:
    """Judges of lifecycle.audit.judge.JUDGES for the entries of DESIGN §4.3."""
    return {"key.registered": _judge_key_registered, "key.revoked": _judge_key_revoked,
            "signoff.recorded": _signed_signoff_judge(signoff_judge)}
