"""The public log: the feed of entries, signed checkpoints and Merkle proofs (DESIGN §4)."""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from api.deps import LifecycleDep
from api.schemas import MAX_SEQ, ConsistencyProof, InclusionProof, LogPage, problems
from lifecycle import ledger

router = APIRouter(prefix="/log", tags=["log"])
JSONL = "application/jsonl"


@router.get("", response_model=LogPage, responses={
    200: {"content": {JSONL: {"schema": {"type": "string"}}},
          "description": "With `format=jsonl`: the exact stored bytes, one entry a line."}})
def read_log(lc: LifecycleDep,
             after: Annotated[int, Query(ge=-1, le=MAX_SEQ,
                                         description="Return entries with seq > after.")] = -1,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             format: Annotated[Literal["json", "jsonl"], Query(
                 description="jsonl: the entries' exact bytes, as in an export bundle.")
             ] = "json"):
    """The log in seq order, without gaps: appends are serialized, so seq order is commit
    order and a reader that pages with `after` never skips an entry."""
    raw = lc.entries(after=after, limit=limit)
    if format == "jsonl":
        return Response(b"".join(line + b"\n" for line in raw), media_type=JSONL)
    size = lc.log_size()  # read after the entries, so it covers every entry returned
    last = after + len(raw)
    return LogPage(size=size, entries=[json.loads(line) for line in raw],
                   next_after=last if raw and last + 1 < size else None)


@router.get("/checkpoint", response_class=PlainTextResponse, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}},
          "description": "A C2SP signed note: origin, size, base64 root, signature."},
    **problems(409)})
def get_checkpoint(lc: LifecycleDep):
    """A signed checkpoint of the log as committed now, with every witness cosignature
    collected for it (C2SP tlog-cosignature). Verify it with GET /log/vkey and the witness
    keys of the operator's published policy. A write in progress never makes this fail."""
    return PlainTextResponse(ledger.checkpoint(lc))


@router.get("/vkey", response_class=PlainTextResponse, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}},
          "description": "The checkpoint verifier key: <origin>+<key id>+<base64 key>."}})
def get_vkey(lc: LifecycleDep):
    return PlainTextResponse(ledger.vkey(lc))


@router.get("/witnesses", response_class=PlainTextResponse, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}},
          "description": "The witness policy (C2SP tlog-policy): witnesses' keys and URLs, "
                         "groups and quorum."}, **problems(404)})
def get_witness_policy(lc: LifecycleDep):
    """The witness policy this log publishes (`$LIFECYCLE_WITNESS_POLICY`): give it to
    `lifecycle audit verify --policy` to check who cosigned a checkpoint."""
    from lifecycle.errors import NotFound
    from lifecycle.evidence.policy import PolicyError, configured_policy

    try:
        policy = configured_policy()
    except PolicyError as exc:  # the operator's file, not the client's doing: say so
        raise NotFound(f"this log's witness policy cannot be read: {exc}") from exc
    if policy is None:
        raise NotFound("this log has no witness policy")
    return PlainTextResponse(policy.text)


@router.get("/proof/inclusion", response_model=InclusionProof, responses=problems(422))
def inclusion_proof(lc: LifecycleDep, index: Annotated[int, Query(ge=0, le=MAX_SEQ)],
                    size: Annotated[int, Query(ge=1, le=MAX_SEQ)]):
    """RFC 9162 inclusion proof of entry `index` in the tree of the first `size` entries."""
    return ledger.inclusion(lc, index=index, size=size)


@router.get("/proof/consistency", response_model=ConsistencyProof, responses=problems(422))
def consistency_proof(lc: LifecycleDep, first: Annotated[int, Query(ge=0, le=MAX_SEQ)],
                      second: Annotated[int, Query(ge=0, le=MAX_SEQ)]):
    """RFC 9162 consistency proof between the trees of the first `first` and `second` entries."""
    return ledger.consistency(lc, first=first, second=second)
