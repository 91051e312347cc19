"""Execution under oversight (DESIGN §2, wave 2): the pure rules of valuations, tender
milestones, amendments, paralysis and Ley 31589.

Every function here reads a `Work` (and the judging `Policy`) and the time of the decision
(`at`, from the entry); nothing reads a clock or a database. The service, the guards, the
worker and the offline replay all call these same functions, so they agree. A rule that does
not hold is a `Breach`: the rule's name, the request field at fault (when there is one) and
its message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum

from lifecycle.calendar import add_business_days, add_months, lima_date, start_of_lima_day
from lifecycle.log.canonical import format_time, parse_time
from lifecycle.model import Policy, Work

VALUATION_DOCUMENTS = ("paymentCertificate", "physicalProgressReport")
HUNDRED = Decimal(100)
LEY_31589_MIN_PCT = Decimal(40)
MAX_EXTENSION_DAYS = 3650
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PCT = re.compile(r"^\d{1,3}(\.\d{1,2})?$")
_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,2})?$")


class MilestoneCode(str, Enum):
    """The tender calendar's milestones; the award is the buena pro."""

    BASES_INTEGRATED = "bases_integrated"
    OFFERS_OPENED = "offers_opened"
    APPEAL_FILED = "appeal_filed"
    APPEAL_RESOLVED = "appeal_resolved"


MILESTONE_CODES = tuple(code.value for code in MilestoneCode)
# Where each milestone happens: the tender's before the buena pro, appeals after it.
MILESTONE_STAGE = {"bases_integrated": "tender", "offers_opened": "tender",
                   "appeal_filed": "award", "appeal_resolved": "award"}


class AmendmentKind(str, Enum):
    ADDITIONAL = "additional"  # adicional de obra: raises the contract amount
    DEDUCTIVE = "deductive"    # deductivo: lowers it
    EXTENSION = "extension"    # ampliación de plazo: moves the end date


AMENDMENT_KINDS = tuple(kind.value for kind in AmendmentKind)
ADDITIONAL_ABOVE_LIMIT = "additional_works_above_limit"
THIRD_EXTENSION = "third_or_later_extension"


@dataclass(frozen=True)
class Breach:
    """A rule that does not hold: its name, the request field at fault, its message."""

    rule: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class ValuationInput:
    period: str
    physical_pct: str
    financial_pct: str
    amount: str
    document_id: int


    @classmethod
    def from_data(cls, data: dict) -> ValuationInput:
        """The valuation a valuation.reported entry states (for replay)."""
        return cls(period=data.get("period"), physical_pct=data.get("physical_pct"),
                   financial_pct=data.get("financial_pct"), amount=data.get("amount"),
                   document_id=data.get("document_id"))


@dataclass(frozen=True)
class MilestoneInput:
    code: str
    date: str
    document_id: int | None = None

    @classmethod
    def from_data(cls, data: dict) -> MilestoneInput:
        """The milestone a milestone.recorded entry states (for replay)."""
        return cls(code=data.get("code"), date=data.get("date"),
                   document_id=data.get("document_id"))


@dataclass(frozen=True)
class AmendmentInput:
    kind: str
    amount: str | None = None
    days: int | None = None

    def as_data(self) -> dict:
        data: dict = {"kind": self.kind}
        if self.amount is not None:
            data["amount"] = self.amount
        if self.days is not None:
            data["days"] = self.days
        return data


@dataclass(frozen=True)
class Paralysis:
    """A paralysed work as the Comptroller counts it: no physical progress since `since`."""

    since: str
    due: str  # since + paralysis_months: from then on the work is paralizada
    physical_pct: str
    months: int
    ley_31589: bool


# ---------------------------------------------------------------- figures
def decimal_of(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def physical_pct(work: Work) -> Decimal:
    """The work's cumulative physical progress: its latest valuation's, or 0."""
    return Decimal(work.valuations[-1].physical_pct) if work.valuations else Decimal(0)


def original_contract_amount(work: Work) -> Decimal | None:
    """The amount of the contract as awarded (the buena pro), or None before an award."""
    return decimal_of((work.award or {}).get("amount")) if work.award else None


def current_contract_amount(work: Work) -> Decimal | None:
    """The awarded amount plus applied additional works, less applied deductions."""
    amount = original_contract_amount(work)
    if amount is None:
        return None
    for amendment in work.amendments:
        if amendment.kind == AmendmentKind.ADDITIONAL.value:
            amount += Decimal(amendment.amount)
        elif amendment.kind == AmendmentKind.DEDUCTIVE.value:
            amount -= Decimal(amendment.amount)
    return amount


def valued_amount(work: Work) -> Decimal:
    """The sum of the amounts valued so far."""
    return sum((Decimal(v.amount) for v in work.valuations), Decimal(0))


def additional_pct(work: Work, extra: Decimal = Decimal(0)) -> Decimal:
    """Cumulative additional works (applied, plus `extra`) as a percentage of the original
    contract amount."""
    original = original_contract_amount(work)
    if not original:
        return Decimal(0)
    total = sum((Decimal(a.amount) for a in work.amendments
                 if a.kind == AmendmentKind.ADDITIONAL.value), Decimal(0)) + extra
    return total * HUNDRED / original


def extensions(work: Work) -> int:
    return sum(1 for a in work.amendments if a.kind == AmendmentKind.EXTENSION.value)


def extension_days(work: Work) -> int:
    return sum(a.days or 0 for a in work.amendments if a.kind == AmendmentKind.EXTENSION.value)


# ---------------------------------------------------------------- input shapes
def pct_breach(field: str, value) -> Breach | None:
    """A percentage is a decimal string from 0 to 100 with at most two decimals."""
    if not isinstance(value, str) or not _PCT.match(value) or Decimal(value) > HUNDRED:
        return Breach("valuation", 'must be a decimal string from "0" to "100" '
                                   "(at most two decimals)", field)
    return None


def amount_breach(field: str, value, *, positive: bool) -> Breach | None:
    """An amount is a decimal string with at most two decimals (greater than zero when
    `positive`)."""
    if not isinstance(value, str) or not _AMOUNT.match(value):
        return Breach("amount", 'must be a decimal string such as "125000.00"', field)
    if positive and Decimal(value) <= 0:
        return Breach("amount", "must be greater than zero", field)
    return None


def valuation_shape(valuation: ValuationInput) -> list[Breach]:
    """The fields of a valuation: period YYYY-MM, percentages and amount as decimal strings."""
    breaches = []
    if not isinstance(valuation.period, str) or not _PERIOD.match(valuation.period):
        breaches.append(Breach("valuation", "must be a month as YYYY-MM", "period"))
    for field in ("physical_pct", "financial_pct"):
        breach = pct_breach(field, getattr(valuation, field))
        if breach:
            breaches.append(breach)
    breach = amount_breach("amount", valuation.amount, positive=False)
    if breach:
        breaches.append(breach)
    return breaches


def amendment_shape(amendment: AmendmentInput) -> list[Breach]:
    """Additional works and deductions carry an amount; an extension carries its days."""
    if amendment.kind not in AMENDMENT_KINDS:
        return [Breach("amendment", f"kind must be one of {', '.join(AMENDMENT_KINDS)}",
                       "amendment.kind")]
    if amendment.kind == AmendmentKind.EXTENSION.value:
        if type(amendment.days) is not int or not 1 <= amendment.days <= MAX_EXTENSION_DAYS:
            return [Breach("amendment", f"an extension states its days (1 to "
                                        f"{MAX_EXTENSION_DAYS})", "amendment.days")]
        if amendment.amount is not None:
            return [Breach("amendment", "an extension carries no amount", "amendment.amount")]
        return []
    if amendment.days is not None:
        return [Breach("amendment", f"{amendment.kind} works carry no days", "amendment.days")]
    breach = amount_breach("amendment.amount", amendment.amount, positive=True)
    return [breach] if breach else []


def milestone_shape(milestone: MilestoneInput) -> list[Breach]:
    if milestone.code not in MILESTONE_CODES:
        return [Breach("milestone", f"must be one of {', '.join(MILESTONE_CODES)}", "code")]
    if not isinstance(milestone.date, str) or not _DATE.match(milestone.date):
        return [Breach("milestone", "must be a date as YYYY-MM-DD", "date")]
    try:
        date.fromisoformat(milestone.date)
    except ValueError:
        return [Breach("milestone", "is not a calendar date", "date")]
    return []


# ---------------------------------------------------------------- valuations
def valuation_breaches(work: Work, valuation: ValuationInput, at: datetime) -> list[Breach]:
    """A valuation (DESIGN §2): reported during execution; a month that has begun and comes
    strictly after the previous valuation's; cumulative percentages that never decrease; the
    amounts valued so far, this one included, never above the current contract amount; a
    paymentCertificate or physicalProgressReport of the work, attached during execution."""
    breaches = valuation_shape(valuation)
    if breaches:
        return breaches
    if work.stage != "execution":
        return [Breach("stage", f"valuations are reported during execution; work {work.code} "
                                f"is in {work.stage}")]
    previous = work.valuations[-1] if work.valuations else None
    if previous is not None and valuation.period <= previous.period:
        breaches.append(Breach("period", f"must come after {previous.period}, the previous "
                                         "valuation's month", "period"))
    if valuation.period > lima_date(at).strftime("%Y-%m"):
        breaches.append(Breach("period", "is a month that has not begun", "period"))
    for field in ("physical_pct", "financial_pct"):
        before = Decimal(getattr(previous, field)) if previous else Decimal(0)
        if Decimal(getattr(valuation, field)) < before:
            breaches.append(Breach("progress", f"cumulative {field} cannot decrease "
                                               f"(it was {before})", field))
    contract = current_contract_amount(work)
    total = valued_amount(work) + Decimal(valuation.amount)
    if contract is None:
        breaches.append(Breach("amount", "the work has no contract amount", "amount"))
    elif total > contract:
        breaches.append(Breach("amount", f"the amounts valued ({total}) would exceed the "
                                         f"current contract amount ({contract})", "amount"))
    breach = valuation_document_breach(work, valuation.document_id)
    if breach:
        breaches.append(breach)
    return breaches


def valuation_document_breach(work: Work, document_id) -> Breach | None:
    """The supporting document is a paymentCertificate or physicalProgressReport of the work
    attached during execution."""
    document = work.document(document_id) if type(document_id) is int else None
    if document is None:
        return Breach("document", f"document {document_id} of work {work.code} not found",
                      "document_id")
    if document.kind not in VALUATION_DOCUMENTS or document.stage != "execution":
        return Breach("document", "must be a paymentCertificate or physicalProgressReport "
                                  "attached during execution", "document_id")
    return None


# ---------------------------------------------------------------- milestones
def appeal_pending(work: Work) -> bool:
    """An appeal filed since the buena pro and not yet resolved."""
    filed = resolved = 0
    for milestone in work.milestones:
        if milestone.seq <= work.stage_entered_seq:
            continue
        if milestone.code == MilestoneCode.APPEAL_FILED.value:
            filed += 1
        elif milestone.code == MilestoneCode.APPEAL_RESOLVED.value:
            resolved += 1
    return filed > resolved


def milestones_in_stage(work: Work, code: str) -> list:
    return [m for m in work.milestones if m.code == code and m.seq > work.stage_entered_seq]


def milestone_breaches(work: Work, milestone: MilestoneInput, at: datetime) -> list[Breach]:
    """A tender milestone: bases integrated and offers opened during the tender, once each;
    appeals during the award stage, a resolution only of a pending appeal; a date neither in
    the future nor before the work entered its stage; a document, when named, of the work."""
    breaches = milestone_shape(milestone)
    if breaches:
        return breaches
    stage = MILESTONE_STAGE[milestone.code]
    if work.stage != stage:
        return [Breach("stage", f"{milestone.code} is recorded in the {stage} stage; work "
                                f"{work.code} is in {work.stage}", "code")]
    once = milestone.code in ("bases_integrated", "offers_opened")
    if once and milestones_in_stage(work, milestone.code):
        breaches.append(Breach("milestone", f"{milestone.code} is already recorded", "code"))
    if milestone.code == MilestoneCode.APPEAL_RESOLVED.value and not appeal_pending(work):
        breaches.append(Breach("milestone", "no appeal is pending", "code"))
    day = date.fromisoformat(milestone.date)
    if day > lima_date(at):
        breaches.append(Breach("date", "is in the future", "date"))
    elif work.stage_entered_at and day < lima_date(parse_time(work.stage_entered_at)):
        breaches.append(Breach("date", f"is before the work entered {work.stage}", "date"))
    if milestone.document_id is not None and (
            type(milestone.document_id) is not int or work.document(milestone.document_id) is None):
        breaches.append(Breach("document", f"document {milestone.document_id} of work "
                                           f"{work.code} not found", "document_id"))
    return breaches


def bases_integrated(work: Work) -> bool:
    """The tender's bases were integrated in this tender (since the work last entered it)."""
    return bool(milestones_in_stage(work, MilestoneCode.BASES_INTEGRATED.value))


def appeal_window_end(work: Work, policy: Policy) -> datetime | None:
    """While in the award stage: the start (00:00, Lima) of the day after the `appeal_days`-th
    business day that follows the buena pro. None in any other stage."""
    if work.stage != "award" or not work.stage_entered_at:
        return None
    awarded = lima_date(parse_time(work.stage_entered_at))
    last = add_business_days(awarded, policy.appeal_days)
    return start_of_lima_day(last + timedelta(days=1))


def buena_pro_consented_at(work: Work, policy: Policy) -> datetime | None:
    """When the buena pro is consented: the appeal window is over and no appeal is pending (the
    later of the window's end and the last appeal's resolution). None while an appeal is
    pending or outside the award stage."""
    end = appeal_window_end(work, policy)
    if end is None or appeal_pending(work):
        return None
    resolutions = milestones_in_stage(work, MilestoneCode.APPEAL_RESOLVED.value)
    if resolutions:
        end = max(end, parse_time(resolutions[-1].recorded_at))
    return end


# ---------------------------------------------------------------- amendments
def amendment_breaches(work: Work, amendment: AmendmentInput) -> list[Breach]:
    """An amendment: its fields; a contract amount to amend; a deduction leaves a positive
    contract amount."""
    breaches = amendment_shape(amendment)
    if breaches:
        return breaches
    contract = current_contract_amount(work)
    if contract is None:
        return [Breach("amendment", "the work has no contract to amend")]
    if amendment.kind == AmendmentKind.DEDUCTIVE.value and Decimal(amendment.amount) >= contract:
        return [Breach("amendment", f"a deduction must leave a positive contract amount "
                                    f"(now {contract})", "amendment.amount")]
    return []


def amendment_flags(work: Work, amendment: AmendmentInput | None, policy: Policy) -> list[str]:
    """Amendment red flags (DESIGN §2): cumulative additional works above
    `amendment_flag_pct` of the original contract amount (15.00% is not above; 15.01% is); a
    third or later extension. Each raises the required approvals by one."""
    if amendment is None:
        return []
    flags = []
    if amendment.kind == AmendmentKind.ADDITIONAL.value:
        extra = decimal_of(amendment.amount) or Decimal(0)
        if additional_pct(work, extra) > Decimal(policy.amendment_flag_pct):
            flags.append(ADDITIONAL_ABOVE_LIMIT)
    if amendment.kind == AmendmentKind.EXTENSION.value and extensions(work) >= 2:
        flags.append(THIRD_EXTENSION)
    return flags


def amendment_of(proposal_amendment: dict | None) -> AmendmentInput | None:
    if not isinstance(proposal_amendment, dict):
        return None
    return AmendmentInput(kind=proposal_amendment.get("kind"),
                          amount=proposal_amendment.get("amount"),
                          days=proposal_amendment.get("days"))


def last_amendment_seq(work: Work) -> int:
    """Log position of the latest applied amendment (or when execution began)."""
    seq = work.stage_entered_seq
    for amendment in work.amendments:
        seq = max(seq, amendment.seq)
    return seq


# ---------------------------------------------------------------- paralysis and Ley 31589
def execution_entry(work: Work) -> tuple[str, int] | None:
    """When (time, log position) the current execution began: the work is in execution, or
    suspended from it (a suspension stops the works, not the paralysis clock). None otherwise."""
    if work.stage == "execution" and work.stage_entered_at:
        return work.stage_entered_at, work.stage_entered_seq
    origin = work.suspended_from or {}
    if work.stage == "suspended" and origin.get("stage") == "execution":
        return origin["entered_at"], origin["entered_seq"]
    return None


def last_progress_at(work: Work) -> str:
    """When the physical progress last rose during the current execution (or when execution
    began, if it has not risen since)."""
    entry = execution_entry(work)
    if entry is None:
        return work.stage_entered_at
    moment, entered_seq = entry
    best = Decimal(0)
    for valuation in work.valuations:
        pct = Decimal(valuation.physical_pct)
        if pct > best:
            best = pct
            if valuation.seq > entered_seq:
                moment = valuation.reported_at
    return moment


def paralysis_due(work: Work, policy: Policy) -> datetime | None:
    """The moment a work in execution (or suspended from it) becomes paralizada if its
    physical progress does not rise: `paralysis_months` after it last rose. None otherwise."""
    if execution_entry(work) is None:
        return None
    return add_months(parse_time(last_progress_at(work)), policy.paralysis_months)


def paralysis(work: Work, policy: Policy, at: datetime) -> Paralysis | None:
    """The work is paralizada (DESIGN §2): in execution (or suspended from it), and its
    physical progress has not risen for `paralysis_months` (6 months minus a day is not yet;
    6 months is)."""
    due = paralysis_due(work, policy)
    if due is None or at < due:
        return None
    pct = physical_pct(work)
    return Paralysis(since=last_progress_at(work), due=format_time(due),
                     physical_pct=str(pct), months=policy.paralysis_months,
                     ley_31589=pct >= LEY_31589_MIN_PCT)


def contract_terminated(work: Work) -> bool:
    """The work's latest contract was terminated (and no new contract signed since)."""
    for proposal in reversed(work.proposals):
        if proposal.status == "applied" and proposal.trigger in ("terminate_contract",
                                                                 "sign_contract"):
            return proposal.trigger == "terminate_contract"
    return False


def ley_31589_eligible(work: Work, policy: Policy, at: datetime) -> bool:
    """Ley 31589: a work with at least 40% physical progress that is paralysed or whose
    contract was terminated."""
    if physical_pct(work) < LEY_31589_MIN_PCT:
        return False
    return paralysis(work, policy, at) is not None or contract_terminated(work)
