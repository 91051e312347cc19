"""The names of the engine's codes (stages, triggers) as people read them, through whatever
gettext the caller gives: the web pages (api/web/words.py) and the e-mails
(lifecycle/mail_text.py) say them with the same catalog entries, from one table."""

from __future__ import annotations

from collections.abc import Callable

Gettext = Callable[[str], str]


def stage_names(_: Gettext) -> dict[str, str]:
    return {
        "design": _("Design"), "technical_file": _("Technical file"), "tender": _("Tender"),
        "award": _("Award"), "execution": _("Execution"), "closure": _("Closure"),
        "suspended": _("Suspended"), "cancelled": _("Cancelled"),
    }


def trigger_names(_: Gettext) -> dict[str, str]:
    return {
        "approve_design": _("Approve the design"),
        "publish_tender": _("Publish the tender"),
        "award": _("Award the contract"),
        "sign_contract": _("Sign the contract"),
        "close": _("Close the work"),
        "declare_void": _("Declare the tender void"),
        "suspend": _("Suspend the work"),
        "resume": _("Resume the work"),
        "cancel": _("Cancel the work"),
        "terminate_contract": _("Terminate the contract"),
        "amend": _("Amend the contract"),
    }
