"""Reading an OCDS record or release package as Peru's SEACE publishes it (OSCE's open data
API, source `seace_v3`): each contracting process becomes either a work to import or a refusal
that says why.

Pure: bytes in, values out. The service command `Lifecycle.import_work` decides against the
database (already imported? a work with that code? which network?) and logs `work.imported`.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lifecycle.validation import ruc_is_valid

MAX_TITLE = 300
MAX_CODE = 64
SOURCE_KIND = "tenderNotice"  # the document kind the source record is kept as


class SeaceFormatError(ValueError):
    """The file is not an OCDS record or release package."""


@dataclass(frozen=True)
class SourceDocument:
    title: str
    url: str
    kind: str
    published: str | None = None


@dataclass(frozen=True)
class SeaceProcess:
    """One works process of the source, ready to be imported."""

    source_ocid: str
    code: str
    title: str
    buyer_name: str
    buyer_ruc: str
    region: str
    reference_amount: str  # decimal string, two places
    currency: str
    stage: str  # technical_file | tender | award | execution
    source_json: bytes  # the record (or compiled release) as the source published it
    source_sha256: str
    documents: tuple[SourceDocument, ...] = ()
    award: dict | None = None  # {supplier: {name, tax_id}, amount, bidders} when awarded
    published: str | None = None


@dataclass(frozen=True)
class SeaceRefusal:
    source_ocid: str
    reason: str


@dataclass
class SeaceFile:
    processes: list[SeaceProcess] = field(default_factory=list)
    refusals: list[SeaceRefusal] = field(default_factory=list)


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(text.casefold().split())


def same_region(a: str, b: str) -> bool:
    """SEACE writes regions in capitals without accents (JUNIN); networks as people do (Junín)."""
    return _normal(a) == _normal(b)


def _decimal_string(value) -> str | None:
    """An amount as a decimal string with two places; JSON numbers were parsed as Decimal, so
    nothing went through a float."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number <= 0:
        return None
    return str(number.quantize(Decimal("0.01")))


def _party(compiled: dict, reference: dict | None) -> dict | None:
    if not reference:
        return None
    for party in compiled.get("parties") or []:
        if party.get("id") == reference.get("id"):
            return party
    return None


def party_ruc(party: dict | None) -> str | None:
    """The party's RUC from its identifier or additional identifiers (scheme PE-RUC)."""
    if not party:
        return None
    for identifier in [party.get("identifier") or {}] + list(party.get("additionalIdentifiers")
                                                           or []):
        if isinstance(identifier, dict) and identifier.get("scheme") == "PE-RUC":
            value = str(identifier.get("id", "")).strip()
            return value or None
    return None


def _stage(compiled: dict) -> str:
    """The stage the source shows: a signed contract, an active award, a published tender."""
    if any((c.get("status") == "active" or c.get("dateSigned"))
           for c in compiled.get("contracts") or []):
        return "execution"
    if any(a.get("status") == "active" for a in compiled.get("awards") or []):
        return "award"
    tender = compiled.get("tender") or {}
    if tender.get("status") in ("active", "complete") or tender.get("datePublished"):
        return "tender"
    return "technical_file"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def read_process(record: dict, compiled: dict, source_json: bytes) -> SeaceProcess | SeaceRefusal:
    ocid = str(compiled.get("ocid") or record.get("ocid") or "").strip()
    if not ocid:
        return SeaceRefusal("(sin ocid)", "the process has no ocid")
    tender = compiled.get("tender") or {}
    category = tender.get("mainProcurementCategory")
    if category != "works":
        shown = f"{category!r}" if category else "none"
        return SeaceRefusal(ocid, f"category {shown}, not works: lifecycle oversees public "
                                  "works (obras) only")
    buyer = _party(compiled, compiled.get("buyer") or tender.get("procuringEntity"))
    ruc = party_ruc(buyer)
    if buyer is None or not ruc:
        return SeaceRefusal(ocid, "the buyer has no PE-RUC identifier: entities are keyed by RUC")
    if not ruc_is_valid(ruc):
        return SeaceRefusal(ocid, f"the buyer's RUC {ruc} is not valid (check digit)")
    address = buyer.get("address") or {}
    region = str(address.get("region") or address.get("department") or "").strip()
    if not region:
        return SeaceRefusal(ocid, "the buyer's address names no region")
    value = tender.get("value") or {}
    amount = _decimal_string(value.get("amount"))
    if amount is None:
        budget = ((compiled.get("planning") or {}).get("budget") or {}).get("amount") or {}
        amount, value = _decimal_string(budget.get("amount")), budget
    if amount is None:
        return SeaceRefusal(ocid, "no positive reference amount (tender.value.amount)")
    currency = str(value.get("currency") or "PEN")
    code = _clip(str(tender.get("title") or tender.get("id") or ocid), MAX_CODE)
    title = _clip(str(tender.get("description") or tender.get("title") or ocid), MAX_TITLE)
    documents = tuple(
        SourceDocument(title=_clip(str(d.get("title") or d.get("documentType") or "documento"),
                                   MAX_TITLE),
                       url=str(d["url"]), kind=str(d.get("documentType") or "biddingDocuments"),
                       published=d.get("datePublished"))
        for d in tender.get("documents") or [] if isinstance(d, dict) and d.get("url"))
    stage = _stage(compiled)
    award = None
    if stage in ("award", "execution"):
        award = _award(compiled)
        if award is None:
            return SeaceRefusal(ocid, "awarded, but the supplier has no valid PE-RUC identifier")
    return SeaceProcess(
        source_ocid=ocid, code=code, title=title, buyer_name=str(buyer.get("name") or ruc),
        buyer_ruc=ruc, region=region, reference_amount=amount, currency=currency, stage=stage,
        source_json=source_json, source_sha256=hashlib.sha256(source_json).hexdigest(),
        documents=documents, award=award, published=tender.get("datePublished"))


def _award(compiled: dict) -> dict | None:
    awards = [a for a in compiled.get("awards") or [] if a.get("status") == "active"]
    if not awards:
        return None
    award = awards[-1]
    supplier_ref = (award.get("suppliers") or [None])[0]
    supplier = _party(compiled, supplier_ref)
    ruc = party_ruc(supplier)
    amount = _decimal_string((award.get("value") or {}).get("amount"))
    if supplier is None or not ruc or not ruc_is_valid(ruc) or amount is None:
        return None
    bidders = (compiled.get("tender") or {}).get("numberOfTenderers")
    return {"supplier": {"name": str(supplier.get("name") or ruc), "tax_id": ruc},
            "amount": amount, "bidders": int(bidders) if isinstance(bidders, (int, Decimal))
            and int(bidders) >= 1 else 1}


def _plain(value):
    """JSON with Decimals back to numbers as written (for the kept source document)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        written = str(value)
        return float(value) if "." in written or "E" in written.upper() else int(value)
    return value


def source_bytes(value: dict) -> bytes:
    return json.dumps(_plain(value), ensure_ascii=False, sort_keys=True, indent=1).encode()


def read(raw: bytes) -> SeaceFile:
    """Every process of a record package (`records`) or release package (`releases`, merged
    per ocid with the standard's rules), as imports and refusals, in file order."""
    try:
        package = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SeaceFormatError(f"not JSON: {exc}") from exc
    if not isinstance(package, dict):
        raise SeaceFormatError("not an OCDS package: the top level is not an object")
    out = SeaceFile()
    if isinstance(package.get("records"), list):
        for record in package["records"]:
            if not isinstance(record, dict):
                out.refusals.append(SeaceRefusal("(sin ocid)", "a record that is not an object"))
                continue
            compiled = record.get("compiledRelease")
            if not isinstance(compiled, dict):
                compiled = _merge([r for r in record.get("releases") or []
                                   if isinstance(r, dict) and "ocid" in r])
            if not compiled:
                out.refusals.append(SeaceRefusal(str(record.get("ocid", "(sin ocid)")),
                                                 "the record has no compiled release"))
                continue
            _add(out, read_process(record, compiled, source_bytes(record)))
    elif isinstance(package.get("releases"), list):
        by_ocid: dict[str, list[dict]] = {}
        for release in package["releases"]:
            if isinstance(release, dict) and release.get("ocid"):
                by_ocid.setdefault(str(release["ocid"]), []).append(release)
        for ocid, releases in by_ocid.items():
            compiled = _merge(releases)
            record = {"ocid": ocid, "releases": releases}
            _add(out, read_process(record, compiled, source_bytes(record)))
    else:
        raise SeaceFormatError("not an OCDS package: no `records` or `releases` list")
    return out


def _add(out: SeaceFile, item: SeaceProcess | SeaceRefusal) -> None:
    (out.processes if isinstance(item, SeaceProcess) else out.refusals).append(item)


def _merge(releases: list[dict]) -> dict:
    if not releases:
        return {}
    from ocdsmerge.exceptions import OCDSMergeError

    from lifecycle.opendata.ocds import merger

    try:
        return merger().create_compiled_release([_plain(r) for r in releases])
    except (OCDSMergeError, TypeError, ValueError, KeyError):  # malformed: reported as such
        return {}


# ---------------------------------------------------------------------- deciding an import
@dataclass(frozen=True)
class ImportOutcome:
    """What importing one process did: `imported` (a new work), `linked` (an existing work with
    the same code now names its SEACE process) or `unchanged` (imported before)."""

    status: str
    source_ocid: str
    work_id: int
    code: str
    stage: str


def network_for(networks: list, region: str):
    """The network that oversees the region, compared as SEACE and people write regions; with
    the region as that network spells it."""
    for network in networks:
        for name in (getattr(network, "regions", None) or [network.region]):
            if same_region(name, region):
                return network, name
    return None, region


def earlier_imports(entries: list[dict]) -> dict[str, tuple[int, str]]:
    """source ocid → (work id, code) of every earlier `work.imported` entry."""
    found = {}
    for entry in entries:
        data = entry.get("data", {})
        if data.get("source_ocid"):
            found[data["source_ocid"]] = (data.get("work_id"), data.get("code", ""))
    return found


def source_document(process: SeaceProcess, document_id: int, sha256: str, size: int) -> dict:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in process.source_ocid)
    return {"document_id": document_id, "kind": SOURCE_KIND,
            "title": _clip(f"Registro OCDS publicado por SEACE: {process.source_ocid}", MAX_TITLE),
            "filename": f"seace-{safe}.json", "media_type": "application/json",
            "sha256": sha256, "size": size}


def imported_data(process: SeaceProcess, *, work_id: int, network_id: int, region: str,
                  entity, award: dict | None, document: dict) -> dict:
    """The `work.imported` entry of a new work."""
    data = {
        "work_id": work_id, "code": process.code, "title": process.title,
        "entity": entity.name, "entity_id": entity.id, "region": region,
        "network_id": network_id, "reference_amount": process.reference_amount,
        "currency": process.currency, "stage": process.stage,
        "source_ocid": process.source_ocid, "source_sha256": process.source_sha256,
        "source_documents": [{"title": d.title, "url": d.url, "kind": d.kind}
                             for d in process.documents],
        "document": document,
    }
    if award is not None:
        data["award"] = award
    return data
