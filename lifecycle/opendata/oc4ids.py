"""OC4IDS 0.9: each work is an infrastructure project with one contracting process (the work's
OCDS process), summarised from the compiled release of its OCDS record."""

from __future__ import annotations

from lifecycle.model import Work
from lifecycle.opendata import OC4IDS_VERSION, Publication
from lifecycle.opendata.ocds import merger
from lifecycle.opendata.validate import check

PROJECT_STATUS = {  # stage → OC4IDS projectStatus (closed codelist)
    "design": "identification",
    "technical_file": "preparation",
    "tender": "preparation",
    "award": "preparation",
    "execution": "implementation",
    "closure": "completion",
    "cancelled": "cancelled",
}
PROCESS_STATUS = {  # stage → OC4IDS contractingProcessStatus (closed codelist)
    "design": "pre-award",
    "technical_file": "pre-award",
    "tender": "pre-award",
    "award": "active",
    "execution": "active",
    "closure": "closed",
    "cancelled": "closed",
}


def project_id(publication: Publication, work: Work) -> str:
    """`oc4ids-` in place of the ocid's `ocds-`, as OC4IDS project identifiers are written."""
    ocid = publication.ocid(work.code)
    return "oc4ids-" + ocid[len("ocds-"):] if ocid.startswith("ocds-") else f"oc4ids-{ocid}"


def effective_stage(work: Work) -> str:
    if work.stage == "suspended":
        return (work.suspended_from or {}).get("stage", "design")
    return work.stage


def _location(work: Work) -> dict:
    region = work.region
    province = getattr(work, "province", None)
    district = getattr(work, "district", None)
    parts = [p for p in (district, province, region) if p]
    address = {"region": region, "countryName": "Perú"}
    if district or province:
        address["locality"] = district or province
    return {"id": "1", "description": ", ".join(parts), "address": address}


def _reference(party: dict | None) -> dict | None:
    return {"id": party["id"], "name": party["name"]} if party else None


def project(work: Work, releases: list[dict], publication: Publication) -> dict:
    """The work as an OC4IDS project. `releases` are the work's OCDS releases, in log order."""
    compiled = merger().create_compiled_release(releases) if releases else {}
    ocid = publication.ocid(work.code)
    stage = effective_stage(work)
    parties = []
    buyer = None
    for party in compiled.get("parties", []):
        roles = list(party.get("roles", []))
        if "buyer" in roles:
            roles.append("publicAuthority")
            buyer = party
        parties.append({**party, "roles": sorted(set(roles))})

    item: dict = {
        "id": project_id(publication, work),
        "updated": work.last_change_at or work.registered_at,
        "language": "es",
        "identifiers": [{"id": work.code, "scheme": "lifecycle"}],
        "title": work.title,
        "status": PROJECT_STATUS.get(stage, "identification"),
        "type": "construction",
        "locations": [_location(work)],
    }
    cui = getattr(work, "cui", None)
    if cui:
        item["identifiers"].append({"id": str(cui), "scheme": "PE-CUI"})
    description = getattr(work, "description", None)
    if description:
        item["description"] = description
    sector = getattr(work, "sector", None)
    if sector:  # an OC4IDS projectSector code; a subsector comes with its parent
        item["sector"] = sorted({sector.split(".")[0], sector})
    budget = (compiled.get("planning") or {}).get("budget", {}).get("amount")
    if budget:
        item["budget"] = {"description": "Monto referencial", "amount": budget}
    if buyer is not None:
        item["publicAuthority"] = _reference(buyer)
    if parties:
        item["parties"] = parties
    documents = _documents(compiled)
    if documents:
        item["documents"] = documents

    item["contractingProcesses"] = [{
        "id": ocid,
        "summary": _summary(work, compiled, ocid, stage, documents),
        "releases": [{"id": r["id"], "tag": r["tag"], "date": r["date"],
                      "url": publication.api(f"/ocds/records/{ocid}") + f"#{r['id']}"}
                     for r in releases],
    }]
    if stage == "closure":
        item["completion"] = _completion(work, compiled)
    return item


def _documents(compiled: dict) -> list[dict]:
    found = list((compiled.get("planning") or {}).get("documents", []))
    found += (compiled.get("tender") or {}).get("documents", [])
    for award in compiled.get("awards", []):
        found += award.get("documents", [])
    for contract in compiled.get("contracts", []):
        found += contract.get("documents", [])
        found += (contract.get("implementation") or {}).get("documents", [])
    return found


def _summary(work: Work, compiled: dict, ocid: str, stage: str, documents: list[dict]) -> dict:
    tender = compiled.get("tender") or {}
    summary: dict = {
        "ocid": ocid,
        "externalReference": work.code,
        "nature": ["construction"],
        "title": work.title,
        "status": PROCESS_STATUS.get(stage, "pre-award"),
    }
    tender_summary: dict = {}
    if tender.get("procurementMethod"):
        tender_summary["procurementMethod"] = tender["procurementMethod"]
        if tender.get("procurementMethodDetails"):
            tender_summary["procurementMethodDetails"] = tender["procurementMethodDetails"]
    if tender.get("tenderPeriod", {}).get("startDate"):
        tender_summary["datePublished"] = tender["tenderPeriod"]["startDate"]
    if tender.get("value"):
        tender_summary["costEstimate"] = tender["value"]
    if isinstance(tender.get("numberOfTenderers"), int):
        tender_summary["numberOfTenderers"] = tender["numberOfTenderers"]
    if tender.get("procuringEntity"):
        tender_summary["procuringEntity"] = tender["procuringEntity"]
    if tender_summary:
        summary["tender"] = tender_summary
    active_awards = [a for a in compiled.get("awards", []) if a.get("status") == "active"]
    if active_awards:
        award = active_awards[-1]
        if award.get("suppliers"):
            summary["suppliers"] = award["suppliers"]
    contracts = compiled.get("contracts", [])
    if contracts:
        contract = contracts[-1]
        if contract.get("value"):
            summary["contractValue"] = contract["value"]
            if stage == "closure":
                summary["finalValue"] = contract["value"]
        if contract.get("dateSigned"):
            summary["contractPeriod"] = {"startDate": contract["dateSigned"]}
        modifications = [_modification(a) for a in contract.get("amendments", [])]
        if modifications:
            summary["modifications"] = modifications
        transactions = (contract.get("implementation") or {}).get("transactions", [])
        if transactions:
            summary["transactions"] = [{k: t[k] for k in ("id", "source", "date", "value")
                                        if k in t} for t in transactions]
    elif active_awards and active_awards[-1].get("value"):
        summary["contractValue"] = active_awards[-1]["value"]
    if documents:
        summary["documents"] = documents
    return summary


def _modification(amendment: dict) -> dict:
    description = amendment.get("description", "")
    kind = "duration" if "plazo" in description else "value"
    out = {"id": amendment["id"], "type": kind, "description": description or "Modificación"}
    if amendment.get("date"):
        out["date"] = amendment["date"]
    if amendment.get("rationale"):
        out["rationale"] = amendment["rationale"]
    return out


def _completion(work: Work, compiled: dict) -> dict:
    completion: dict = {"endDate": work.stage_entered_at or work.last_change_at}
    contracts = compiled.get("contracts", [])
    if contracts and contracts[-1].get("value"):
        completion["finalValue"] = contracts[-1]["value"]
    completion["finalScope"] = work.title
    return completion


def project_package(projects: list[dict], publication: Publication, uri: str) -> dict:
    package = {
        "uri": uri,
        "version": OC4IDS_VERSION,
        "publishedDate": max(p["updated"] for p in projects),
        "publisher": {"name": publication.publisher, "uri": publication.public_url},
        "projects": projects,
    }
    return check(package, "project-package")
