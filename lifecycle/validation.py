"""Input checks shared by every interface; each failure names its field."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from lifecycle.errors import Invalid
from lifecycle.states import SECTORS, TRIGGERS
from lifecycle.states.machine import CONSTITUENCIES

ROLES = ("admin", "official", "member", "auditor")
DECISIONS = ("approve", "block", "withdraw")
# OCDS 1.1 documentType codes (open codelist) plus budgetApproval, which DESIGN §2 requires.
DOCUMENT_KINDS = (
    "plannedProcurementNotice", "tenderNotice", "awardNotice", "contractNotice",
    "completionCertificate", "procurementPlan", "biddingDocuments", "technicalSpecifications",
    "evaluationCriteria", "evaluationReports", "contractDraft", "contractSigned",
    "contractArrangements", "contractSchedule", "physicalProgressReport",
    "financialProgressReport", "finalAudit", "hearingNotice", "marketStudies",
    "eligibilityCriteria", "clarifications", "shortlistedFirms", "environmentalImpact",
    "assetAndLiabilityAssessment", "riskProvisions", "winningBid", "complaints",
    "contractAnnexe", "contractGuarantees", "subContract", "needsAssessment",
    "feasibilityStudy", "projectPlan", "billOfQuantity", "bidders", "conflictOfInterest",
    "debarments", "illustration", "submissionDocuments", "contractSummary",
    "cancellationDetails", "budgetApproval",
)
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def text(field: str, value, *, max_len: int = 200, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(field, "must be a string")
    value = value.strip()
    if required and not value:
        raise Invalid(field, "is required")
    if len(value) > max_len:
        raise Invalid(field, f"is longer than {max_len} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise Invalid(field, "contains control characters")
    return value


def amount(field: str, value) -> str:
    """Money as a decimal string with two places ("1250000.00"): never a float."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(field, "must be a decimal string such as \"1250000.00\"")
    raw = str(value).strip()
    if not _AMOUNT.match(raw):
        raise Invalid(field, "must be a non-negative decimal with at most two decimals")
    try:
        return str(Decimal(raw).quantize(Decimal("0.01")))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes these
        raise Invalid(field, "is not a decimal") from exc


def currency(field: str, value) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise Invalid(field, "must be an ISO 4217 code such as PEN")
    return value


def choice(field: str, value, allowed) -> str:
    if value not in allowed:
        raise Invalid(field, f"must be one of: {', '.join(allowed)}")
    return value


def username(value) -> str:
    if not isinstance(value, str) or not _USERNAME.match(value):
        raise Invalid("username", "2-64 characters: lowercase letters, digits, '.', '_' or '-'")
    return value


def sector(value) -> str:
    return choice("sector", value, SECTORS)


def constituencies(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("constituencies", "must be a list of strings")
    for v in value:
        choice("constituencies", v, CONSTITUENCIES)
    return sorted(set(value))


def trigger(value) -> str:
    return choice("trigger", value, TRIGGERS)


def positive_int(field: str, value, *, minimum: int = 0, maximum: int = 100_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(field, "must be an integer")
    if not minimum <= value <= maximum:
        raise Invalid(field, f"must be between {minimum} and {maximum}")
    return value
