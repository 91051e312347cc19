"""Member signatures (DESIGN §4.3) in the engine and offline: statements, keys, signed
sign-offs, the policy that makes only signed sign-offs count, and `audit verify` naming the
entry of a forged or replayed signature in a bundle the operator re-signed."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.test_audit_tamper import index_of, lines_of, rechain, sign_bundle, write_lines
from tests.test_webauthn_emulator import ALGS, Authenticator

from lifecycle.audit.export import export_bundle
from lifecycle.audit.verify import verify_bundle
from lifecycle.errors import Conflict, Forbidden, Invalid
from lifecycle.guards import GuardState, approval_tally
from lifecycle.evidence.ed25519 import public_key_bytes
from lifecycle.evidence.statement import Statement, b64url
from lifecycle.log.note import VKEY_FILE, load_signer

RP_ID, ORIGIN = "localhost", "http://localhost:8000"


class Ed25519Member:
    """A member with a local Ed25519 key (what `lifecycle sign keygen` makes)."""

    def __init__(self, world, name: str):
        self.world, self.actor = world, world.members[name]
        self.private = Ed25519PrivateKey.generate()
        self.key = world.lc.register_key(actor=self.actor, kind="ed25519",
                                         public_key=b64url(public_key_bytes(self.private)))

    def statement(self, proposal_id: int, decision: str = "approve",
                  reason: str | None = None) -> Statement:
        return self.world.lc.signoff_statement(actor=self.actor, work_id=self.world.work_id,
                                               proposal_id=proposal_id, decision=decision,
                                               reason=reason)

    def proof(self, statement: Statement) -> dict:
        return {"kind": "ed25519", "key_id": self.key.key_id,
                "signature": b64url(self.private.sign(statement.message()))}

    def sign(self, proposal_id: int, decision: str = "approve", reason: str | None = None):
        statement = self.statement(proposal_id, decision, reason)
        return self.world.lc.record_signoff(
            actor=self.actor, work_id=self.world.work_id, proposal_id=proposal_id,
            decision=decision, reason=reason, statement=statement.as_dict(),
            proof=self.proof(statement))


class PasskeyMember(Ed25519Member):
    """A member with a passkey of the emulated authenticator."""

    def __init__(self, world, name: str, alg: str = "ES256"):
        self.world, self.actor = world, world.members[name]
        self.authenticator = Authenticator(alg)
        options = world.lc.key_registration_options(actor=self.actor, rp_id=RP_ID,
                                                    rp_name="lifecycle")
        challenge = base64.urlsafe_b64decode(options["challenge"] + "==")
        self.key = world.lc.register_key(
            actor=self.actor, kind="webauthn",
            credential=self.authenticator.registration(challenge, RP_ID, ORIGIN),
            rp_id=RP_ID, origins=[ORIGIN])

    def proof(self, statement: Statement) -> dict:
        return self.authenticator.proof(self.key.key_id, statement.message(), RP_ID, ORIGIN)


def published_key(world):
    return world.lc.data_dir / VKEY_FILE


def export(world, tmp_path):
    export_bundle(world.lc, tmp_path / "bundle")
    return tmp_path / "bundle"


def test_the_signed_message_is_sha256_of_the_prefix_and_the_jcs_statement(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa = Ed25519Member(world, "rosa")
    statement = rosa.statement(proposal.id, "block", "Falta el estudio de suelos.")
    as_sent = statement.as_dict()
    assert set(as_sent) == {"v", "type", "log", "work", "proposal", "trigger", "decision",
                            "reason", "member", "dossier", "checkpoint", "nonce"}
    assert as_sent["type"] == "lifecycle.signoff" and as_sent["member"] == rosa.actor.id
    assert as_sent["trigger"] == "approve_design"
    assert statement.message() == hashlib.sha256(
        b"lifecycle-signoff/v1\n" + rfc8785.dumps(as_sent)).digest()
    # The dossier is the leaf hash of the document just attached (its latest change).
    document = world.lc.history(world.work_id)[-2]
    assert document["type"] == "document.attached"
    raw = world.lc.entries(after=document["seq"] - 1, limit=1)[0]
    assert as_sent["dossier"] == hashlib.sha256(b"\x00" + bytes(raw)).hexdigest()
    assert rosa.statement(proposal.id).nonce != statement.nonce  # every statement is fresh


@pytest.mark.parametrize("alg", ALGS)
def test_a_passkey_signed_approval_is_recorded_with_its_statement_and_proof(world, alg,
                                                                           tmp_path):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa = PasskeyMember(world, "rosa", alg)
    assert rosa.key.alg == alg and rosa.key.origins == [ORIGIN]
    rosa.sign(proposal.id)
    entry = world.lc.history(world.work_id)[-1]
    assert entry["type"] == "signoff.recorded"
    assert entry["data"]["statement"]["nonce"] and entry["data"]["proof"]["kind"] == "webauthn"
    result = verify_bundle(export(world, tmp_path), published_key(world))
    assert result.ok, result.problem


def test_statement_reuse_another_members_key_and_a_revoked_key_are_refused(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa, jorge = Ed25519Member(world, "rosa"), Ed25519Member(world, "jorge")
    statement = rosa.statement(proposal.id)
    body = {"actor": rosa.actor, "work_id": world.work_id, "proposal_id": proposal.id,
            "decision": "approve", "statement": statement.as_dict(),
            "proof": rosa.proof(statement)}
    world.lc.record_signoff(**body)
    with pytest.raises(Conflict, match="already used"):
        world.lc.record_signoff(**body)
    fresh = rosa.statement(proposal.id)
    with pytest.raises(Forbidden, match="another member's"):
        world.lc.record_signoff(**{**body, "statement": fresh.as_dict(),
                                   "proof": {**jorge.proof(fresh), "key_id": jorge.key.key_id}})
    world.lc.revoke_key(actor=rosa.actor, key_id=rosa.key.key_id)
    with pytest.raises(Forbidden, match="revoked"):
        world.lc.record_signoff(**{**body, "statement": fresh.as_dict(),
                                   "proof": rosa.proof(fresh)})
    assert len(world.work.proposal(proposal.id).signoffs) == 1


def test_a_statement_made_before_the_dossier_changed_is_refused(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa = Ed25519Member(world, "rosa")
    statement = rosa.statement(proposal.id)
    world.attach("feasibilityStudy", content=b"%PDF second version")
    with pytest.raises(Conflict, match="dossier changed"):
        world.lc.record_signoff(actor=rosa.actor, work_id=world.work_id,
                                proposal_id=proposal.id, decision="approve",
                                statement=statement.as_dict(), proof=rosa.proof(statement))


def test_a_statement_for_another_decision_or_a_bad_signature_is_refused(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa = Ed25519Member(world, "rosa")
    statement = rosa.statement(proposal.id, "approve")
    common = {"actor": rosa.actor, "work_id": world.work_id, "proposal_id": proposal.id}
    with pytest.raises(Invalid, match="statement.decision"):
        world.lc.record_signoff(**common, decision="block", reason="no",
                                statement=statement.as_dict(), proof=rosa.proof(statement))
    forged = {**rosa.proof(statement), "signature": b64url(bytes(64))}
    with pytest.raises(Invalid, match="does not verify"):
        world.lc.record_signoff(**common, decision="approve", statement=statement.as_dict(),
                                proof=forged)
    with pytest.raises(Invalid, match="not registered"):
        world.lc.record_signoff(**common, decision="approve", statement=statement.as_dict(),
                                proof={**rosa.proof(statement), "key_id": "nokey"})


def test_with_the_policy_unsigned_approvals_and_blocks_do_not_count(world):
    world.lc.set_policy(actor=world.admin, network_id=world.network_id,
                        require_member_signatures=True)
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")  # unsigned
    world.sign(proposal.id, "luis", decision="block", reason="sin firma")  # unsigned block
    outcome = world.apply(proposal.id)
    verdicts = {r.guard: r for r in outcome.results}
    assert not outcome.applied
    assert not verdicts["quorum"].ok and verdicts["blocks"].ok
    work = world.work
    tally = approval_tally(GuardState(work, world.lc.get_network(world.network_id)),
                           work.proposal(proposal.id))
    assert {t.excluded for t in tally} == {"not signed by the member"}
    for name in ("rosa", "jorge", "ana"):  # the same members, signing this time
        Ed25519Member(world, name).sign(proposal.id)
    assert world.apply(proposal.id).applied


def test_only_members_register_keys_and_a_key_is_registered_once(world):
    with pytest.raises(Forbidden):
        world.lc.register_key(actor=world.official, kind="ed25519",
                              public_key=b64url(bytes(32)))
    rosa = Ed25519Member(world, "rosa")
    with pytest.raises(Conflict, match="already registered"):
        world.lc.register_key(actor=world.members["jorge"], kind="ed25519",
                              public_key=rosa.key.public_key)
    with pytest.raises(Invalid, match="public_key"):
        world.lc.register_key(actor=rosa.actor, kind="ed25519", public_key="not-a-key")


def test_a_passkey_registration_needs_a_challenge_this_server_issued_to_the_member(world):
    rosa, jorge = world.members["rosa"], world.members["jorge"]
    options = world.lc.key_registration_options(actor=rosa, rp_id=RP_ID, rp_name="x")
    challenge = base64.urlsafe_b64decode(options["challenge"] + "==")
    credential = Authenticator("EdDSA").registration(challenge, RP_ID, ORIGIN)
    with pytest.raises(Invalid, match="issued to you"):
        world.lc.register_key(actor=jorge, kind="webauthn", credential=credential,
                              rp_id=RP_ID, origins=[ORIGIN])
    made_up = Authenticator("EdDSA").registration(bytes(48), RP_ID, ORIGIN)
    with pytest.raises(Invalid, match="issued"):
        world.lc.register_key(actor=rosa, kind="webauthn", credential=made_up, rp_id=RP_ID,
                              origins=[ORIGIN])
    world.clock.advance(minutes=11)
    with pytest.raises(Conflict, match="too long"):
        world.lc.register_key(actor=rosa, kind="webauthn", credential=credential, rp_id=RP_ID,
                              origins=[ORIGIN])


# ------------------------------------------------------------------- offline: audit verify

def _signed_history(world):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    members = [Ed25519Member(world, "rosa"), PasskeyMember(world, "jorge", "RS256"),
               PasskeyMember(world, "ana", "EdDSA")]
    for member in members:
        member.sign(proposal.id)
    return proposal, members


def _forge(bundle, world, edit) -> None:
    """Edit the entries, re-chain them and re-sign the bundle with the operator's key."""
    lines = lines_of(bundle)
    start = edit(lines)
    write_lines(bundle, rechain(lines, start))
    sign_bundle(bundle, load_signer(world.lc.data_dir))


def test_verify_accepts_the_signed_history(world, tmp_path):
    _signed_history(world)
    result = verify_bundle(export(world, tmp_path), published_key(world))
    assert result.ok, result.problem


def test_verify_names_a_forged_approval_in_a_re_signed_bundle(world, tmp_path):
    """The operator turns rosa's signed block into an approval and re-signs the log: the
    statement she signed no longer matches, and verify names the entry."""
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa = Ed25519Member(world, "rosa")
    rosa.sign(proposal.id, "block", "Falta el estudio de suelos.")
    bundle = export(world, tmp_path)
    forged_at = index_of(lines_of(bundle), "signoff.recorded", decision="block")

    def to_approval(lines):
        entry = json.loads(lines[forged_at])
        entry["data"]["decision"] = "approve"
        entry["data"].pop("reason")
        entry["data"]["statement"].update(decision="approve", reason="")
        lines[forged_at] = rfc8785.dumps(entry)
        return forged_at

    _forge(bundle, world, to_approval)
    result = verify_bundle(bundle, published_key(world))
    assert not result.ok
    assert result.problem.startswith(f"entry {forged_at}: signoff.recorded: proof.signature")


def test_verify_names_a_replayed_statement_and_a_key_the_operator_registered(world, tmp_path):
    proposal, (rosa, *_) = _signed_history(world)
    bundle = export(world, tmp_path)
    lines = lines_of(bundle)
    first = index_of(lines, "signoff.recorded", proposal_id=proposal.id)

    def replay(lines):
        copy = json.loads(lines[first])
        copy["seq"], copy["at"] = len(lines), json.loads(lines[-1])["at"]  # time never runs back
        lines.append(rfc8785.dumps(copy))
        return len(lines) - 1

    _forge(bundle, world, replay)
    assert verify_bundle(bundle, published_key(world)).problem == (
        f"entry {len(lines)}: signoff.recorded: statement.nonce: this statement was already "
        "used")

    bundle = export(world, tmp_path / "again")
    registered = index_of(lines_of(bundle), "key.registered", user_id=rosa.actor.id)

    def by_the_operator(lines):
        entry = json.loads(lines[registered])
        entry["actor"] = {"id": "system", "role": "system"}
        lines[registered] = rfc8785.dumps(entry)
        return registered

    _forge(bundle, world, by_the_operator)
    assert verify_bundle(bundle, published_key(world)).problem.startswith(
        f"entry {registered}: key.registered: key {rosa.key.key_id} was not registered by its "
        "member")


def test_verify_names_a_signature_by_a_key_revoked_before_it(world, tmp_path):
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    rosa = Ed25519Member(world, "rosa")
    rosa.sign(proposal.id)
    world.lc.revoke_key(actor=rosa.actor, key_id=rosa.key.key_id)
    bundle = export(world, tmp_path)
    lines = lines_of(bundle)
    signed = index_of(lines, "signoff.recorded", proposal_id=proposal.id)
    revoked = index_of(lines, "key.revoked", key_id=rosa.key.key_id)

    def revoke_first(lines):
        times = {seq: json.loads(lines[seq])["at"] for seq in (signed, revoked)}
        lines[signed], lines[revoked] = lines[revoked], lines[signed]
        for seq in (signed, revoked):
            entry = json.loads(lines[seq])
            entry["seq"], entry["at"] = seq, times[seq]  # in place, time still runs forward
            lines[seq] = rfc8785.dumps(entry)
        return signed

    _forge(bundle, world, revoke_first)
    assert verify_bundle(bundle, published_key(world)).problem == (
        f"entry {revoked}: signoff.recorded: proof.key_id: key {rosa.key.key_id} was revoked")


def test_the_engine_side_signer_for_the_demo_makes_counted_signed_sign_offs(world, tmp_path):
    from lifecycle.evidence.signing import Ed25519Signer

    world.lc.set_policy(actor=world.admin, network_id=world.network_id,
                        require_member_signatures=True)
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    for name in ("rosa", "jorge", "ana"):
        Ed25519Signer(world.lc, world.members[name]).signoff(
            work_id=world.work_id, proposal_id=proposal.id, decision="approve")
    assert world.apply(proposal.id).applied
    result = verify_bundle(export(world, tmp_path), published_key(world))
    assert result.ok, result.problem


def test_replay_judges_key_entries_and_a_replayed_statement_like_the_service(world, tmp_path):
    from lifecycle.audit.replay import replay_bundle

    proposal, (rosa, *_) = _signed_history(world)
    bundle = export(world, tmp_path)
    assert replay_bundle(bundle, vkey=published_key(world)).ok
    lines = lines_of(bundle)
    first = index_of(lines, "signoff.recorded", proposal_id=proposal.id)
    registered = index_of(lines, "key.registered", user_id=rosa.actor.id)

    def forge(lines):
        copy = json.loads(lines[first])
        copy["seq"], copy["at"] = len(lines), json.loads(lines[-1])["at"]
        lines.append(rfc8785.dumps(copy))  # rosa's signed approval, recorded a second time
        entry = json.loads(lines[registered])
        entry["actor"] = {"id": world.official.id, "role": "official"}
        lines[registered] = rfc8785.dumps(entry)
        return registered

    _forge(bundle, world, forge)
    report = replay_bundle(bundle, vkey=published_key(world))
    problems = [str(i) for i in report.illegal]
    assert f"entry {registered}: key.registered not allowed: key_owner: a key is registered " \
           "by the member it belongs to" in problems
    assert f"entry {len(lines)}: signoff.recorded not allowed: signature: this statement was " \
           "already used" in problems


def test_with_the_policy_an_unsigned_sign_off_cannot_undo_a_signed_one(world):
    """What the operator could write without a member's key — an unsigned withdraw after a
    signed approval or block — changes nothing: the member's latest signed sign-off counts."""
    world.lc.set_policy(actor=world.admin, network_id=world.network_id,
                        require_member_signatures=True)
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    signers = {name: Ed25519Member(world, name) for name in ("rosa", "jorge", "ana", "luis")}
    for name in ("rosa", "jorge", "ana"):
        signers[name].sign(proposal.id)
    signers["luis"].sign(proposal.id, "block", "Falta el estudio de suelos.")
    world.sign(proposal.id, "rosa", "luis", decision="withdraw")  # unsigned
    verdicts = {r.guard: r for r in world.apply(proposal.id).results}
    assert not verdicts["blocks"].ok and "Falta el estudio de suelos." in \
        verdicts["blocks"].message
    assert verdicts["quorum"].ok  # rosa's signed approval still counts
    signers["luis"].sign(proposal.id, "withdraw", "Se adjuntó el estudio.")
    assert world.apply(proposal.id).applied
