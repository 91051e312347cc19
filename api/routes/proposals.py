"""Proposals to change a work's stage: opened and applied by an official of the work's entity,
signed off by the members of its network."""

from fastapi import APIRouter, Request, Response

from api.writer import read, write
from api.deps import IfMatch, LifecycleDep, MemberUser, OfficialUser
from api.routes.works import etag
from api.schemas import (
    ApplyOut,
    Decision,
    OverruleIn,
    GuardOut,
    ProposalId,
    ProposalIn,
    ProposalOut,
    SignOffIn,
    WorkId,
    WorkSummary,
    problems,
)
from lifecycle.errors import NotFound, Refused
from lifecycle.model import Proposal
from lifecycle.reads import work_and_network
from lifecycle.service import Lifecycle

router = APIRouter(prefix="/works/{work_id}/proposals", tags=["proposals"])


def spanish_words(request: Request):
    """The web's words in Spanish when the client's Accept-Language prefers it, else None (the
    API's default language is the engine's English, stable for scripts)."""
    from api.web.i18n import Formats, from_accept_language, translations
    from api.web.words import Words

    if from_accept_language(request.headers.get("accept-language", "")) != "es":
        return None
    return Words(translations("es"), Formats("es"))


async def proposal_out(lc: Lifecycle, work_id: int, proposal: Proposal) -> ProposalOut:
    """The proposal as committed, with its tally against the network as it stands."""
    work, network = await read(lc, work_and_network, lc, work_id)
    return ProposalOut.of(work, network, work.proposal(proposal.id))


@router.post("", status_code=201, response_model=ProposalOut, responses=problems(403, 404, 409))
async def open_proposal(work_id: WorkId, body: ProposalIn, actor: OfficialUser, lc: LifecycleDep):
    """Propose a stage change (one open proposal per work). An award carries
    `{supplier, amount, bidders}`; its red flags are computed now and shown to reviewers."""
    proposal = await write(
        lc.open_proposal, actor=actor, work_id=work_id, trigger=body.trigger,
        justification=body.justification, award=body.award.model_dump() if body.award else None,
        amendment=body.amendment.model_dump(exclude_none=True) if body.amendment else None)
    return await proposal_out(lc, work_id, proposal)


@router.get("/{proposal_id}", response_model=ProposalOut, responses=problems(404))
async def get_proposal(work_id: WorkId, proposal_id: ProposalId, lc: LifecycleDep):
    work, network = await read(lc, work_and_network, lc, work_id)
    proposal = work.proposal(proposal_id)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} of work {work.code} not found")
    return ProposalOut.of(work, network, proposal)


@router.post("/{proposal_id}/signoffs", status_code=201, response_model=ProposalOut,
             responses=problems(403, 404, 409))
async def record_signoff(work_id: WorkId, proposal_id: ProposalId, body: SignOffIn, actor: MemberUser,
                   lc: LifecycleDep):
    """A member of the work's network approves, blocks (with a reason) or withdraws their
    earlier stance. Their latest sign-off is the one that counts."""
    proposal = await write(
        lc.record_signoff, actor=actor, work_id=work_id, proposal_id=proposal_id,
        decision=body.decision, reason=body.reason, statement=body.statement, proof=body.proof)
    return await proposal_out(lc, work_id, proposal)


@router.get("/{proposal_id}/statement", responses=problems(403, 404, 409))
async def signoff_statement(work_id: WorkId, proposal_id: ProposalId, actor: MemberUser,
                            lc: LifecycleDep, decision: Decision, reason: str | None = None):
    """A fresh statement for the member to sign (DESIGN §4.3), and `message`: the base64url
    SHA-256 its key signs (the WebAuthn challenge). Single-use: sign it, then POST it with its
    proof to …/signoffs."""
    from api.routes.keys import statement_out

    return statement_out(await write(
        lc.signoff_statement, actor=actor, work_id=work_id, proposal_id=proposal_id,
        decision=decision, reason=reason))


@router.post("/{proposal_id}/apply", response_model=ApplyOut,
             responses=problems(403, 404, 409, 412))
async def apply_proposal(work_id: WorkId, proposal_id: ProposalId, actor: OfficialUser, lc: LifecycleDep,
                   if_match: IfMatch, response: Response, request: Request):
    """Evaluate every guard and apply the stage change. A refusal is logged too, and answered
    409 with every failing guard in `errors` (and every verdict in `guards`). With
    `Accept-Language: es` the errors' messages say what is missing in Spanish, from the
    guards' figures (the log keeps the engine's own wording)."""
    outcome = await write(
        lc.apply_proposal, actor=actor, work_id=work_id, proposal_id=proposal_id, if_match=if_match)
    guards = [GuardOut.of(r) for r in outcome.results]
    if not outcome.applied:
        failing = [{"guard": g.guard, "message": g.message} for g in guards if not g.ok]
        words = spanish_words(request)
        if words is not None:
            network = lc.get_network(outcome.work.network_id)
            failing = [{"guard": r.guard, "message": words.guard(
                r, outcome.work, network, outcome.proposal)} for r in outcome.results
                if not r.ok]
        refusal = Refused(f"{outcome.proposal.trigger} of work {outcome.work.code} refused: "
                          + "; ".join(f"{f['guard']}: {f['message']}" for f in failing),
                          failing)
        refusal.extensions = {"seq": outcome.entry["seq"],
                              "guards": [g.model_dump() for g in guards]}
        if words is not None:
            refusal.headers = {"Content-Language": "es", "Vary": "Accept-Language"}
            refusal.message = words.gettext("The stage change was refused") + ": " + "; ".join(
                f"{words.guard_name(f['guard'])}: {f['message']}" for f in failing)
        raise refusal
    response.headers["ETag"] = etag(outcome.work)
    return ApplyOut(applied=True, seq=outcome.entry["seq"], guards=guards,
                    work=WorkSummary.model_validate(outcome.work.__dict__))


@router.post("/{proposal_id}/withdraw", response_model=ProposalOut,
             responses=problems(403, 404, 409))
async def withdraw_proposal(work_id: WorkId, proposal_id: ProposalId, actor: OfficialUser,
                      lc: LifecycleDep):
    proposal = await write(
        lc.withdraw_proposal, actor=actor, work_id=work_id, proposal_id=proposal_id)
    return await proposal_out(lc, work_id, proposal)


@router.post("/{proposal_id}/overrule", response_model=ProposalOut,
             responses=problems(403, 404, 409))
async def overrule_block(work_id: WorkId, proposal_id: ProposalId, body: OverruleIn,
                         actor: OfficialUser, lc: LifecycleDep):
    """Lift the block of a member who has left the network: needs the quorum plus two counted
    approvals and a written reason; logged as block.overruled and flagged on the proposal."""
    proposal = await write(
        lc.overrule_block, actor=actor, work_id=work_id, proposal_id=proposal_id,
        user_id=body.user_id, reason=body.reason)
    return await proposal_out(lc, work_id, proposal)
