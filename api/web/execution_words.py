"""Words for the tender calendar's and execution's guards, log entries and notices (DESIGN §2,
wave 2), in the reader's language: api/web/words.py asks here for what is not its own."""

from __future__ import annotations

from lifecycle.guards import GuardResult
from lifecycle.model import Work

EXECUTION_GUARDS = ("bases_integrated", "buena_pro_consented", "reception_observations",
                    "amendment_terms")
EXECUTION_EVENTS = ("valuation.reported", "milestone.recorded", "deadline.reached")


def guard_name(words, guard: str) -> str | None:
    _ = words.gettext
    return {"bases_integrated": _("Bases integrated"),
            "buena_pro_consented": _("Buena pro consented"),
            "reception_observations": _("Observations of the execution answered"),
            "amendment_terms": _("Amendment")}.get(guard)


def guard_text(words, result: GuardResult) -> str:
    """A guard of the tender calendar or of execution, in plain words."""
    _ = words.gettext
    details = result.details
    if result.guard == "bases_integrated":
        return _("The bases were integrated.") if result.ok else \
            _("The milestone “bases integrated” is not recorded in this tender.")
    if result.guard == "buena_pro_consented":
        if result.ok:
            return _("The buena pro is consented: the appeal window is over and no appeal is "
                     "pending.")
        if details.get("appeal_pending"):
            return _("An appeal against the buena pro is pending.")
        return _("The appeal window of %(days)s business days after the buena pro is still "
                 "open.") % {"days": details.get("appeal_days")}
    if result.guard == "reception_observations":
        if result.ok:
            return _("Every observation filed during execution is answered.")
        return _("Observations filed during execution still unanswered: %(ids)s.") % {
            "ids": ", ".join(f"#{i}" for i in details.get("unanswered", []))}
    if result.guard == "amendment_terms":
        if result.ok:
            return _("The amendment is documented.")
        missing = details.get("missing") or []
        if missing:
            return _("Missing since the previous amendment: %(kinds)s.") % {
                "kinds": words.join([words.kind(k) for k in missing])}
        return _("The amendment's terms are not valid.")
    return result.message


def event_text(words, entry: dict, who: str, work: Work) -> str:
    """A valuation, a milestone or a deadline of the work's log, as a sentence."""
    _ = words.gettext
    data = entry.get("data", {})
    kind = entry.get("type")
    if kind == "valuation.reported":
        return _("%(who)s reported the valuation of %(period)s: physical progress %(physical)s%%, "
                 "financial %(financial)s%%, %(amount)s.") % {
            "who": who, "period": data.get("period"), "physical": data.get("physical_pct"),
            "financial": data.get("financial_pct"),
            "amount": words.fmt.money(data.get("amount"), work.currency)}
    if kind == "milestone.recorded":
        return _("%(who)s recorded the milestone “%(milestone)s” on %(date)s.") % {
            "who": who, "milestone": milestone_name(words, data.get("code", "")),
            "date": data.get("date")}
    code = data.get("code")
    texts = {
        "tender_period_ended": _("The minimum tender period ended."),
        "buena_pro_consented": _("The buena pro was consented."),
        "overdue": _("The work passed its stage's service level: it is overdue."),
        "paralysed": _("The work is paralysed: its physical progress has not risen for "
                       "%(months)s months.") % {"months": data.get("months")},
    }
    return texts.get(code, str(code))


def milestone_name(words, code: str) -> str:
    _ = words.gettext
    return {"bases_integrated": _("bases integrated"), "offers_opened": _("offers opened"),
            "appeal_filed": _("appeal filed"), "appeal_resolved": _("appeal resolved")
            }.get(code, code)


def notice_text(words, key: str) -> str | None:
    _ = words.gettext
    return {"valuation_reported": _("The valuation is reported and listed in the log.")
            }.get(key)
