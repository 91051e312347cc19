"""OCDS 1.1.5: one contracting process per work, one immutable release per log entry that
changes what OCDS describes, and records compiled by the standard's merge rules.

A release is a pure function of one entry and of the state the reducer rebuilt from the entries
up to and including it, so the release of entry K is the same whenever it is generated: its id
is `<ocid>-<seq>`, its date the entry's `at`.

| entry | tag | what it says |
|---|---|---|
| work.registered | planning | budget (reference amount), tender in planning, buyer |
| work.imported | planning (+ tender) | the same, from SEACE, at the stage the source shows |
| document.attached | planningUpdate, tenderUpdate, awardUpdate or implementationUpdate | the document, with its SHA-256 and download URL, in the section of its stage |
| transition.applied | by trigger (below) | the change, with the network's sign-offs as approval milestones |
| valuation.reported | implementationUpdate | the month's amount as a transaction, the cumulative progress as a reporting milestone |
| milestone.recorded | tenderUpdate | bases integradas, apertura de ofertas, apelación: tender milestones |
| work.corrected | planningUpdate or tenderUpdate | a corrected title, description or CUI |

Triggers: approve_design → planningUpdate; publish_tender → tender; award → award; declare_void
→ tenderUpdate (tender unsuccessful); sign_contract → contract; amend → contractAmendment;
terminate_contract and close → contractTermination; cancel → tenderCancellation,
awardCancellation or contractTermination, depending on how far the process went. suspend and
resume change nothing OCDS describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from ocdsmerge import Merger

from lifecycle.model import Proposal, State, Work
from lifecycle.opendata import OCDS_VERSION, Publication
from lifecycle.opendata.parties import Parties, buyer, monitors, suppliers
from lifecycle.opendata.validate import SCHEMA_DIR, OCDS_RELEASE, check
from lifecycle.reducer import HANDLERS, apply

PLANNING_STAGES = ("design", "technical_file")
TRIGGER_NAMES = {  # how the published data names each decision (Spanish, like the portal)
    "approve_design": "aprobación del diseño",
    "publish_tender": "convocatoria",
    "award": "otorgamiento de la buena pro",
    "sign_contract": "firma del contrato",
    "close": "recepción y cierre",
    "declare_void": "declaratoria de desierto",
    "terminate_contract": "resolución del contrato",
    "suspend": "suspensión",
    "resume": "reanudación",
    "cancel": "cancelación",
    "amend": "modificación del contrato",
}

AMENDMENT_NAMES = {"additional": "Adicional de obra", "deductive": "Deductivo de obra",
                   "extension": "Ampliación de plazo"}
TENDER_MILESTONES = {"bases_integrated": "Integración de las bases",
                     "offers_opened": "Apertura de ofertas",
                     "appeal_filed": "Recurso de apelación presentado",
                     "appeal_resolved": "Recurso de apelación resuelto"}
SECTOR_NAMES = {"government": "gobierno", "civil_society": "sociedad civil",
                "private_sector": "sector privado",
                "professional_association": "colegio profesional", "academia": "academia"}


@dataclass(frozen=True)
class Release:
    seq: int  # the log entry it comes from
    work_id: int
    ocid: str
    data: dict


def amount(value) -> int | float | None:
    """A decimal string of the log as the JSON number OCDS wants (an int when whole, so that
    12500000.00 is published as 12500000)."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _value(raw, currency: str) -> dict | None:
    number = amount(raw)
    return None if number is None else {"amount": number, "currency": currency}


def award_id(ocid: str, proposal_id: int) -> str:
    return f"{ocid}-award-{proposal_id}"


def contract_id(ocid: str, proposal_id: int) -> str:
    return f"{ocid}-contract-{proposal_id}"


def _applied(work: Work, trigger: str) -> Proposal | None:
    """The latest applied proposal with this trigger."""
    found = None
    for proposal in work.proposals:
        if proposal.trigger == trigger and proposal.status == "applied":
            found = proposal
    return found


def _section_stage(work: Work, stage: str) -> str:
    if stage == "suspended":
        return (work.suspended_from or {}).get("stage", "design")
    return stage


class ReleaseBuilder:
    """Walks the log in order with the reducer's state and makes each entry's release."""

    def __init__(self, publication: Publication):
        self.publication = publication
        self.state = State()

    def feed(self, entry: dict) -> Release | None:
        if entry.get("type") not in HANDLERS:
            self.state.size = entry["seq"] + 1  # a type this version does not know: no release
            return None
        kind = entry["type"]
        data = entry["data"]
        apply(self.state, entry)
        make = _MAKERS.get(kind)
        if make is None:
            return None
        work = self.state.works.get(data.get("work_id"))
        if work is None:
            return None
        ocid = self.publication.ocid(work.code)
        built = make(self, entry, work, ocid)
        if built is None:
            return None
        tags, body, parties = built
        release = {"ocid": ocid, "id": f"{ocid}-{entry['seq']}", "date": entry["at"],
                   "tag": tags, "initiationType": "tender", "language": "es"}
        release.update(body)
        if parties is not None:
            release["parties"] = parties.as_ocds()
            buyer_party = next((p for p in parties.by_id.values() if "buyer" in p.roles), None)
            if buyer_party is not None:
                release["buyer"] = buyer_party.reference()
        return Release(entry["seq"], work.id, ocid, release)

    # ------------------------------------------------------------------ pieces
    def parties(self, work: Work, at: str) -> Parties:
        parties = Parties(self.state)
        buyer(parties, work)
        monitors(parties, self.state, work, at)
        award = _applied(work, "award")
        if award is not None and award.award:
            suppliers(parties, award.award)
        # The work's own entity and its supplier sit on the network too, but they are not
        # independent of the work: their approvals never count, and OCDS should not call them
        # monitors of it.
        for party in parties.by_id.values():
            if {"buyer", "supplier"} & set(party.roles) and "independentMonitor" in party.roles:
                party.roles.remove("independentMonitor")
        return parties

    def document(self, work: Work, document) -> dict:
        return {
            "id": f"doc-{document.id}",
            "documentType": document.kind,
            "title": document.title,
            "description": f"SHA-256 {document.sha256}; {document.size} bytes; "
                           f"{document.filename}",
            "url": self.publication.api(f"/works/{work.id}/documents/{document.id}"),
            "datePublished": document.attached_at,
            "format": document.media_type,
            "language": "es",
            "sha256": document.sha256,
        }

    def organization_name(self, member) -> str:
        """The member's organization as its record names it at this point of the log, else as
        written when the member joined."""
        record = getattr(self.state, "organizations", {}).get(
            getattr(member, "organization_id", None))
        return record.name if record is not None else member.organization

    def milestones(self, work: Work, proposal: Proposal) -> list[dict]:
        """Each member's standing sign-off on the proposal, as an approval milestone."""
        network = self.state.networks.get(work.network_id)
        what = TRIGGER_NAMES.get(proposal.trigger, proposal.trigger)
        out = []
        for user_id, signoff in sorted(proposal.latest_signoffs().items()):
            if signoff.decision not in ("approve", "block"):
                continue
            member = network.member(user_id) if network else None
            who = (f"{self.organization_name(member)} "
                   f"({SECTOR_NAMES.get(member.sector, member.sector)})"
                   if member else f"usuario {user_id}")
            milestone = {
                "id": f"signoff-{proposal.id}-{user_id}",
                "title": f"Conformidad de la red de integridad: {what}",
                "type": "approval",
                "code": proposal.trigger,
                "description": who + (f": {signoff.reason}" if signoff.reason else ""),
                "dateModified": signoff.at,
                "status": "met" if signoff.decision == "approve" else "notMet",
            }
            if signoff.decision == "approve":
                milestone["dateMet"] = signoff.at
            out.append(milestone)
        return out

    def tender_base(self, work: Work, ocid: str) -> dict:
        tender = {"id": f"{ocid}-tender", "title": work.title,
                  "mainProcurementCategory": "works"}
        value = _value(work.reference_amount, work.currency)
        if value:
            tender["value"] = value
        return tender


# ---------------------------------------------------------------------- one maker per entry type
def _registered(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    parties = builder.parties(work, entry["at"])
    planning: dict = {}
    value = _value(entry["data"].get("reference_amount"), entry["data"].get("currency", "PEN"))
    if value:
        planning["budget"] = {"id": f"{ocid}-budget", "description": "Monto referencial",
                              "amount": value, "project": work.title}
    cui = entry["data"].get("cui")
    if cui and "budget" in planning:
        planning["budget"]["projectID"] = cui  # the investment's CUI (Invierte.pe)
    tender = builder.tender_base(work, ocid)
    tender["status"] = "planning"
    if entry["data"].get("description"):
        tender["description"] = entry["data"]["description"]
    buyer_party = next((p for p in parties.by_id.values() if "buyer" in p.roles), None)
    if buyer_party is not None:
        tender["procuringEntity"] = buyer_party.reference()
    return ["planning"], {"planning": planning, "tender": tender}, parties


def _imported(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    tags, body, parties = _registered(builder, entry, work, ocid)
    if entry["data"].get("linked"):
        tags = ["planningUpdate"]
    if work.stage not in PLANNING_STAGES:
        tags = tags + ["tender"]
        body["tender"]["status"] = "active"
    body["planning"]["documents"] = [builder.document(work, d) for d in work.documents
                                     if d.seq == entry["seq"]]
    published = [{"id": f"seace-{i}", "documentType": d.get("kind", "biddingDocuments"),
                  "title": d.get("title", ""), "url": d["url"], "language": "es"}
                 for i, d in enumerate(entry["data"].get("source_documents") or [], start=1)
                 if isinstance(d, dict) and d.get("url")]
    if published:
        body["tender"]["documents"] = published
    source = entry["data"].get("source_ocid")
    if source:
        body["relatedProcesses"] = [{
            "id": "seace", "relationship": ["parent"], "title": "Proceso en SEACE",
            "scheme": "ocid", "identifier": source}]
    return tags, body, parties


def _document(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    document = work.document(entry["data"]["document_id"])
    if document is None:
        return None
    doc = builder.document(work, document)
    stage = _section_stage(work, document.stage)
    parties = builder.parties(work, entry["at"])
    if stage in PLANNING_STAGES:
        return ["planningUpdate"], {"planning": {"documents": [doc]}}, parties
    if stage == "tender":
        return ["tenderUpdate"], {"tender": {"id": f"{ocid}-tender", "documents": [doc]}}, parties
    if stage == "award":
        award = _applied(work, "award")
        if award is None:
            return None
        return ["awardUpdate"], {"awards": [{"id": award_id(ocid, award.id),
                                             "documents": [doc]}]}, parties
    if stage == "execution":
        signed = _applied(work, "sign_contract")
        award = _applied(work, "award")
        if signed is None or award is None:
            return None
        return ["implementationUpdate"], {"contracts": [{
            "id": contract_id(ocid, signed.id), "awardID": award_id(ocid, award.id),
            "implementation": {"documents": [doc]}}]}, parties
    return None


def _transition(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    data = entry["data"]
    proposal = work.proposal(data.get("proposal_id", 0))
    if proposal is None:
        return None
    trigger, at = data["trigger"], entry["at"]
    parties = builder.parties(work, at)
    milestones = builder.milestones(work, proposal)
    award = _applied(work, "award")
    signed = _applied(work, "sign_contract")
    tender = {"id": f"{ocid}-tender"}
    contract = None
    if signed is not None and award is not None:
        contract = {"id": contract_id(ocid, signed.id), "awardID": award_id(ocid, award.id)}

    if trigger == "approve_design":
        return ["planningUpdate"], {"planning": {"milestones": milestones}}, parties
    if trigger == "publish_tender":
        tender = builder.tender_base(work, ocid)
        tender.update(status="active", procurementMethod="open", tenderPeriod={"startDate": at},
                      milestones=milestones)
        return ["tender"], {"tender": tender}, parties
    if trigger == "declare_void":
        tender.update(status="unsuccessful", milestones=milestones)
        return ["tenderUpdate"], {"tender": tender}, parties
    if trigger == "award" and award is not None:
        data_award = award.award or {}
        tender.update(status="complete", tenderPeriod={"endDate": at}, milestones=milestones)
        if isinstance(data_award.get("bidders"), int):
            tender["numberOfTenderers"] = data_award["bidders"]
        item = {"id": award_id(ocid, award.id), "status": "active", "date": at,
                "suppliers": [p.reference() for p in suppliers(parties, data_award)]}
        value = _value(data_award.get("amount"), work.currency)
        if value:
            item["value"] = value
        return ["award"], {"tender": tender, "awards": [item]}, parties
    if trigger == "sign_contract" and contract is not None:
        contract.update(status="active", dateSigned=at, milestones=milestones)
        value = _value((award.award or {}).get("amount"), work.currency)
        if value:
            contract["value"] = value
        return ["contract"], {"contracts": [contract]}, parties
    if trigger == "amend" and contract is not None:
        return _amendment(entry, work, proposal, contract, milestones, parties)
    if trigger in ("close", "terminate_contract") and contract is not None:
        contract.update(status="terminated", milestones=milestones)
        if trigger == "terminate_contract":
            contract["description"] = f"Contrato resuelto: {proposal.justification}"
        return ["contractTermination"], {"contracts": [contract]}, parties
    if trigger == "cancel":
        tender.update(status="cancelled")
        # How far the process went decides what is cancelled (a cancel may come from
        # suspension, so the stage it left says less than the award and contract do).
        if contract is not None:
            contract.update(status="terminated", milestones=milestones,
                            description=f"Cancelada: {proposal.justification}")
            return ["contractTermination"], {"tender": tender, "contracts": [contract]}, parties
        tender["milestones"] = milestones
        if award is not None:
            return ["awardCancellation"], {"tender": tender, "awards": [
                {"id": award_id(ocid, award.id), "status": "cancelled"}]}, parties
        return ["tenderCancellation"], {"tender": tender}, parties
    return None


def contract_amount(work: Work, award: Proposal) -> Decimal | None:
    """The contract amount now: the award's, plus additional works, minus deductions."""
    try:
        total = Decimal(str((award.award or {}).get("amount")))
    except InvalidOperation:
        return None
    for amendment in getattr(work, "amendments", []):
        if amendment.amount and amendment.kind in ("additional", "deductive"):
            change = Decimal(str(amendment.amount))
            total += change if amendment.kind == "additional" else -change
    return total


def _amendment(entry, work: Work, proposal: Proposal, contract: dict, milestones, parties):
    details = getattr(proposal, "amendment", None) or {}
    kind = details.get("kind", "")
    description = AMENDMENT_NAMES.get(kind, "Modificación del contrato")
    if details.get("amount"):
        description += f" por {details['amount']} {work.currency}"
    if details.get("days"):
        description += f" de {details['days']} días"
    contract.update(milestones=milestones, amendments=[{
        "id": f"amendment-{proposal.id}", "date": entry["at"], "rationale": proposal.justification,
        "description": description}])
    award = _applied(work, "award")
    value = _value(contract_amount(work, award), work.currency) if award else None
    if value:
        contract["value"] = value
    return ["contractAmendment"], {"contracts": [contract]}, parties


def _valuation(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    """A monthly valuation: the month's amount as a transaction, the cumulative progress as a
    reporting milestone of the implementation."""
    data = entry["data"]
    signed, award = _applied(work, "sign_contract"), _applied(work, "award")
    value = _value(data.get("amount"), work.currency)
    if signed is None or award is None or value is None:
        return None
    key = data.get("valuation_id", entry["seq"])
    period = data.get("period", "")
    implementation = {
        "transactions": [{"id": f"valuation-{key}", "source": f"valorización {period}".strip(),
                          "date": entry["at"], "value": value}],
        "milestones": [{
            "id": f"valuation-{key}", "title": f"Valorización {period}".strip(),
            "type": "reporting", "status": "met", "dateMet": entry["at"],
            "description": f"Avance físico acumulado {data.get('physical_pct', '?')} %; "
                           f"avance financiero acumulado {data.get('financial_pct', '?')} %"}],
    }
    document = work.document(data.get("document_id", 0)) if data.get("document_id") else None
    if document is not None:
        implementation["milestones"][0]["documents"] = [builder.document(work, document)]
    parties = builder.parties(work, entry["at"])
    return ["implementationUpdate"], {"contracts": [{
        "id": contract_id(ocid, signed.id), "awardID": award_id(ocid, award.id),
        "implementation": implementation}]}, parties


def _tender_milestone(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    """A tender milestone the official recorded (bases integradas, apertura de ofertas,
    apelación): a met milestone of the tender, on the day it happened (Lima time)."""
    data = entry["data"]
    code = data.get("code", "")
    day = str(data.get("date", ""))
    milestone = {"id": f"tender-{data.get('milestone_id', entry['seq'])}",
                 "title": TENDER_MILESTONES.get(code, code), "code": code,
                 "type": "assessment" if code != "bases_integrated" else "engagement",
                 "status": "met", "dateModified": entry["at"]}
    if len(day) == 10:
        milestone["dateMet"] = f"{day}T00:00:00-05:00"
    document = work.document(data["document_id"]) if data.get("document_id") else None
    if document is not None:
        milestone["documents"] = [builder.document(work, document)]
    return (["tenderUpdate"], {"tender": {"id": f"{ocid}-tender", "milestones": [milestone]}},
            builder.parties(work, entry["at"]))


def _corrected(builder: ReleaseBuilder, entry, work: Work, ocid: str):
    """A logged correction of the work's title, description or CUI."""
    data = entry["data"]
    changes = data.get("changes") if isinstance(data.get("changes"), dict) else data
    tender: dict = {"id": f"{ocid}-tender"}
    body: dict = {"tender": tender}
    if changes.get("title"):
        tender["title"] = changes["title"]
    if "description" in changes:
        tender["description"] = changes["description"] or None  # null clears it when merged
    if "cui" in changes or changes.get("title"):
        budget = {"id": f"{ocid}-budget", "project": changes.get("title") or work.title}
        if "cui" in changes:
            budget["projectID"] = changes["cui"] or None
        body["planning"] = {"budget": budget}
    if len(tender) == 1 and "planning" not in body:
        return None  # nothing OCDS describes (province, district, sector)
    if len(tender) == 1:
        del body["tender"]
    tag = "planningUpdate" if _section_stage(work, work.stage) in PLANNING_STAGES \
        else "tenderUpdate"
    return [tag], body, builder.parties(work, entry["at"])


_MAKERS = {
    "work.registered": _registered,
    "work.imported": _imported,
    "document.attached": _document,
    "transition.applied": _transition,
    "valuation.reported": _valuation,
    "milestone.recorded": _tender_milestone,
    "work.corrected": _corrected,
}


def releases(entries: Iterable[dict], publication: Publication) -> Iterator[Release]:
    """Every release of the log, in log order."""
    builder = ReleaseBuilder(publication)
    for entry in entries:
        release = builder.feed(entry)
        if release is not None:
            yield release


# ---------------------------------------------------------------------- packages and records
def release_package(items: list[dict], publication: Publication, uri: str) -> dict:
    """A release package; its publishedDate is the latest release's date, so the same page is
    the same package whenever it is asked for. Validated before it is returned."""
    package = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": max(r["date"] for r in items),
        "publisher": {"name": publication.publisher, "uri": publication.public_url},
        "releases": items,
    }
    return check(package, "release-package")


@cache
def merger() -> Merger:
    """The standard's merge rules, from the vendored release schema (never downloaded)."""
    return Merger(schema=str(SCHEMA_DIR / OCDS_RELEASE))


def record(ocid: str, items: list[dict]) -> dict:
    return {
        "ocid": ocid,
        "releases": items,
        "compiledRelease": merger().create_compiled_release(items),
        "versionedRelease": merger().create_versioned_release(items),
    }


def record_package(records: list[dict], publication: Publication, uri: str) -> dict:
    package = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": max(r["compiledRelease"]["date"] for r in records),
        "publisher": {"name": publication.publisher, "uri": publication.public_url},
        "records": records,
    }
    return check(package, "record-package")
