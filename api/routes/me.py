"""What concerns the caller: their inbox ("Mis pendientes") and their e-mail notifications.

The contact settings are private: they are not in the public log, and only their owner reads
or changes them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, LifecycleDep
from api.schemas import problems
from lifecycle import outbox, pending
from lifecycle.notify import KINDS

router = APIRouter(prefix="/users/me", tags=["me"])


class DossierChangeOut(BaseModel):
    kind: Literal["document", "observation", "answer"]
    id: int
    seq: int
    at: str
    label: str


class PendingItemOut(BaseModel):
    kind: Literal[tuple(k.value for k in pending.PendingKind)]  # type: ignore[valid-type]
    work_id: int
    code: str
    title: str
    since: str
    proposal_id: int | None = None
    trigger: str | None = None
    observation_id: int | None = None
    changes: list[DossierChangeOut] = []
    failing: list[str] = Field([], description="Guard codes that still fail (dry run).")
    days: int | None = Field(None, description="Days in the current stage.")
    limit: int | None = Field(None, description="The stage's service level in days.")


class PendingOut(BaseModel):
    count: int
    items: list[PendingItemOut]


class NotificationSettingsIO(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "email": "rosa.quispe@example.pe", "language": "es", "muted": ["proposal_applied"]}]})
    email: str | None = Field(None, max_length=320,
                              description="Where notifications go; null for none.")
    language: Literal["es", "en"] = "es"
    muted: list[Literal[KINDS]] = Field(  # type: ignore[valid-type]
        [], max_length=len(KINDS), description="Kinds of notification not wanted.")


@router.get("/pending", response_model=PendingOut, responses=problems(401))
def my_pending(lc: LifecycleDep, actor: CurrentUser):
    """For a member: proposals of her networks awaiting her sign-off, her approvals that went
    stale (with what changed since), answers to her observations. For an official: proposals
    ready to apply, refusals to fix, observations to answer, works near or past their service
    level."""
    inbox = pending.load(lc, actor, lc.clock())
    return PendingOut(count=inbox.count, items=[i.to_dict() for i in inbox.items])


@router.get("/notifications", response_model=NotificationSettingsIO, responses=problems(401))
def my_notifications(lc: LifecycleDep, actor: CurrentUser):
    settings = outbox.load_settings(lc.engine, actor.id)
    return NotificationSettingsIO(email=settings.email, language=settings.language,
                                  muted=sorted(settings.muted))


@router.put("/notifications", response_model=NotificationSettingsIO,
            responses=problems(401, 422))
def set_my_notifications(lc: LifecycleDep, actor: CurrentUser, body: NotificationSettingsIO):
    """Replace the caller's address, language and muted kinds (every kind is sent unless
    muted: proposal_opened, approval_stale, proposal_blocked, transition_refused,
    observation_answered, proposal_applied, key_registered)."""
    settings = outbox.save_settings(lc.engine, actor.id, email=body.email,
                                    language=body.language, muted=body.muted)
    return NotificationSettingsIO(email=settings.email, language=settings.language,
                                  muted=sorted(settings.muted))
