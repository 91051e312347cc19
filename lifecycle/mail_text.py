"""The words of a notification e-mail, chosen when it is sent, in the reader's language.

An outbox row holds codes and figures only (kind, work code, trigger, guard codes); this module
says them through the same gettext catalogs as the web pages (lifecycle/locale), Spanish by
default. Each message ends with the link to the page where the reader acts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from lifecycle.vocabulary import stage_names, trigger_names

LOCALE_DIR = Path(__file__).parent / "locale"


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


@lru_cache(maxsize=4)
def _translations(language: str) -> NullTranslations:
    loaded = Translations.load(str(LOCALE_DIR), [language], domain="messages")
    return loaded if isinstance(loaded, Translations) else NullTranslations()


def _trigger(_, code: str) -> str:
    return trigger_names(_).get(code, code)


def _stage(_, code: str) -> str:
    return stage_names(_).get(code, code)


def _change(_, code: str) -> str:
    return {"document.attached": _("a document was attached"),
            "observation.filed": _("an observation was filed"),
            "observation.answered": _("an observation was answered")}.get(code, code)


def compose(kind: str, params: dict, *, language: str, base_url: str) -> MailText:
    """Subject and body of one notification."""
    _ = _translations(language).gettext
    work = {"code": params.get("code", ""), "title": params.get("title", "")}
    link = f"{base_url.rstrip('/')}/works/{params['work_id']}" if "work_id" in params \
        else f"{base_url.rstrip('/')}/pending"
    trigger = _trigger(_, params.get("trigger", ""))
    if kind == "proposal_opened":
        subject = _("Review requested: %(code)s") % work
        lead = _("A stage change of the work %(code)s (%(title)s) awaits your review: "
                 "%(trigger)s.") % (work | {"trigger": trigger})
    elif kind == "approval_stale":
        subject = _("Your approval no longer counts: %(code)s") % work
        lead = _("Your approval of “%(trigger)s” for the work %(code)s no longer counts because "
                 "%(change)s after you gave it. Review what changed and approve again if you "
                 "still agree.") % (work | {"trigger": trigger,
                                           "change": _change(_, params.get("change", ""))})
        link = f"{base_url.rstrip('/')}/pending"  # where the one-step re-approve is
    elif kind == "proposal_blocked":
        subject = _("Your proposal was blocked: %(code)s") % work
        lead = _("A network member blocked your proposal “%(trigger)s” for the work %(code)s. "
                 "The reason is on the work's page.") % (work | {"trigger": trigger})
    elif kind == "transition_refused":
        subject = _("Stage change refused: %(code)s") % work
        lead = _("The stage change “%(trigger)s” of the work %(code)s was refused. The work's "
                 "page says what is still missing.") % (work | {"trigger": trigger})
    elif kind == "observation_answered":
        subject = _("Your observation was answered: %(code)s") % work
        lead = _("The official answered your observation on the work %(code)s. You can accept "
                 "the answer or reject it.") % work
    elif kind == "proposal_applied":
        subject = _("Stage change applied: %(code)s") % work
        lead = _("“%(trigger)s” was applied: the work %(code)s is now in the stage %(stage)s.") \
            % (work | {"trigger": trigger, "stage": _stage(_, params.get("stage", ""))})
    elif kind == "key_registered":
        subject = _("A new signing key on your account")
        lead = _("A new signing key (%(kind)s) was registered on your account. If it was not "
                 "you, revoke it and tell your network at once.") % {
                     "kind": params.get("kind", "")}
        link = f"{base_url.rstrip('/')}/keys"
    else:
        raise ValueError(f"unknown notification kind {kind!r}")
    footer = _("You receive this message because you take part in an integrity network. "
               "You can choose which messages you receive on your page.")
    return MailText(subject, f"{lead}\n\n{link}\n\n-- \n{footer}\n")
