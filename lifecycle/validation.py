"""Input checks shared by every interface; each failure names its field."""

from __future__ import annotations

import re
import unicodedata
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
    # Execution under oversight (DESIGN §2, wave 2)
    "paymentCertificate", "contractAmendment", "escalationApproval", "termination",
)
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


# C0 controls except tab and newline, DEL, C1 controls, and lone surrogates (which cannot be
# encoded as UTF-8 and would otherwise fail deep in the log encoder).
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(field: str, value: str) -> str:
    """Text as it may enter the log (DESIGN §4): NFC, and no control character but newline and
    tab. Refused, not stripped: a silently altered text is worse than a clear 422."""
    if _FORBIDDEN.search(value):
        raise Invalid(field, "contains control characters")
    return unicodedata.normalize("NFC", value)


def text(field: str, value, *, max_len: int = 200, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(field, "must be a string")
    value = clean(field, value).strip()
    if required and not value:
        raise Invalid(field, "is required")
    if len(value) > max_len:
        raise Invalid(field, f"is longer than {max_len} characters")
    return value


def optional_text(field: str, value, *, max_len: int = 200) -> str | None:
    return text(field, value, max_len=max_len, required=False) or None


def ruc_check_digit(first_ten: str) -> int:
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    remainder = 11 - sum(int(d) * w for d, w in zip(first_ten, weights)) % 11
    return {10: 0, 11: 1}.get(remainder, remainder)


def ruc_is_valid(value: str) -> bool:
    """A Peruvian RUC: 11 digits, a known prefix (10 persons, 15/16/17 special cases, 20
    companies and public entities) and SUNAT's modulo-11 check digit as its last digit."""
    if not (isinstance(value, str) and len(value) == 11 and value.isascii() and value.isdigit()):
        return False
    if value[:2] not in ("10", "15", "16", "17", "20"):
        return False
    return ruc_check_digit(value[:10]) == int(value[10])


def ruc(field: str, value) -> str:
    if not isinstance(value, str):
        raise Invalid(field, "must be an 11-digit RUC as a string")
    value = value.strip()
    if not ruc_is_valid(value):
        raise Invalid(field, "is not a valid RUC (11 digits with a valid check digit)")
    return value


def person_id(value) -> str | None:
    """A DNI: 8 digits."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{8}", value.strip()):
        raise Invalid("person_id", "must be a DNI: 8 digits")
    return value.strip()


def amount(field: str, value, *, positive: bool = False) -> str:
    """Money as a decimal string with two places ("1250000.00"): never a float."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(field, "must be a decimal string such as \"1250000.00\"")
    raw = str(value).strip()
    if not _AMOUNT.match(raw):
        raise Invalid(field, "must be a non-negative decimal with at most two decimals")
    try:
        value = Decimal(raw).quantize(Decimal("0.01"))
        if positive and value <= 0:
            raise Invalid(field, "must be greater than zero")
        return str(value)
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
