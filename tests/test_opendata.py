"""OCDS 1.1.5 and OC4IDS 0.9 publication: what an OCDS data user harvests must validate, come
in log order without gaps, and compile exactly as the standard's merge rules say."""

from __future__ import annotations

import filecmp
import json

import pytest
from ocdsmerge import Merger
from typer.testing import CliRunner

from lifecycle.cli import app
from lifecycle.opendata import Publication, oc4ids, ocds
from lifecycle.opendata.publish import Feed
from lifecycle.opendata.validate import SCHEMA_DIR, InvalidPackage, check, problems
from tests.conftest import PG_URL, SUPPLIER, fixtures_dir

PUB = Publication(ocid_prefix="ocds-test01", public_url="https://obras.example.pe",
                  publisher="Red de Integridad")
AWARD = {"supplier": SUPPLIER, "amount": "12000000.00", "bidders": 3}
RELEASING = {"work.registered", "work.imported", "document.attached", "valuation.reported",
             "milestone.recorded"}


def entries_of(lc) -> list[dict]:
    return [json.loads(raw) for raw in lc.entries(limit=100_000)]


def run_to_closure(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    world.clock.advance(days=20)
    world.advance("award", ("evaluationReports",), award=AWARD)
    world.advance("sign_contract", ("contractSigned",))
    world.clock.advance(days=30)
    report = world.attach("physicalProgressReport").documents[-1]
    world.lc.report_valuation(actor=world.official, work_id=world.work_id,
                              period=world.clock.now.strftime("%Y-%m"), physical_pct="35.00",
                              financial_pct="30.00", amount="3600000.00",
                              document_id=report.id)
    world.attach("contractAmendment")
    amendment = world.lc.open_proposal(
        actor=world.official, work_id=world.work_id, trigger="amend",
        justification="Mayor metrado de obras de arte", amendment={
            "kind": "additional", "amount": "600000.00"})
    world.sign(amendment.id, "rosa", "jorge", "ana")
    assert world.apply(amendment.id).applied
    world.advance("close", ("completionCertificate",))


@pytest.fixture
def closed(world):
    run_to_closure(world)
    return world


def test_vendored_schemas_are_the_standard_files():
    for standard in ("ocds", "oc4ids"):
        shared = fixtures_dir(standard)
        for vendored in (SCHEMA_DIR / standard).rglob("*.*"):
            original = shared / vendored.relative_to(SCHEMA_DIR / standard)
            assert filecmp.cmp(vendored, original, shallow=False), vendored


def test_one_release_per_relevant_entry_in_log_order_with_the_right_tags(closed):
    log = entries_of(closed.lc)
    releases = list(ocds.releases(log, PUB))
    expected = [e["seq"] for e in log if e["type"] in RELEASING or (
        e["type"] == "transition.applied" and e["data"]["trigger"] not in ("suspend", "resume"))]
    assert [r.seq for r in releases] == expected
    assert [r.data["tag"] for r in releases if len(r.data["tag"]) == 1 and r.data["tag"][0] in (
        "planning", "tender", "award", "contract", "contractAmendment",
        "contractTermination")] == [["planning"], ["tender"], ["award"], ["contract"],
                                    ["contractAmendment"], ["contractTermination"]]
    ocid = "ocds-test01-LAM-2026-001"
    assert {r.data["ocid"] for r in releases} == {ocid}
    assert [r.data["id"] for r in releases] == [f"{ocid}-{seq}" for seq in expected]
    assert [r.data["date"] for r in releases] == [log[s]["at"] for s in expected]
    check(ocds.release_package([r.data for r in releases], PUB, PUB.api("/ocds/releases")),
          "release-package")


def test_parties_documents_and_signoffs_as_ocds_says(closed):
    releases = [r.data for r in ocds.releases(entries_of(closed.lc), PUB)]
    compiled = ocds.record(releases[0]["ocid"], releases)["compiledRelease"]
    parties = {p["name"]: p for p in compiled["parties"]}
    supplier = parties[SUPPLIER["name"]]
    assert supplier["identifier"] == {"scheme": "PE-RUC", "id": SUPPLIER["tax_id"],
                                      "legalName": SUPPLIER["name"]}
    assert supplier["roles"] == ["supplier"]
    assert compiled["awards"][0]["suppliers"] == [{"id": supplier["id"], "name": supplier["name"]}]
    buyer = next(p for p in compiled["parties"] if "buyer" in p["roles"])
    assert buyer["identifier"]["scheme"] == "PE-RUC" and len(buyer["identifier"]["id"]) == 11
    assert compiled["buyer"] == {"id": buyer["id"], "name": buyer["name"]}
    monitors = {p["name"] for p in compiled["parties"] if "independentMonitor" in p["roles"]}
    network = closed.lc.get_network(closed.network_id)
    # Every member's organization but the work's own entity (carmen works for it).
    assert monitors == {m.organization for m in network.members.values()} - {buyer["name"]}
    assert buyer["name"] in {m.organization for m in network.members.values()}
    assert buyer["roles"] == ["buyer"]
    work = closed.work
    document = next(d for d in work.documents if d.kind == "feasibilityStudy")
    published = next(d for d in compiled["planning"]["documents"]
                     if d["documentType"] == "feasibilityStudy")
    assert published["url"] == f"https://obras.example.pe/api/v1/works/{work.id}/documents/" \
                               f"{document.id}"
    assert document.sha256 in published["description"]
    assert published["sha256"] == document.sha256
    approvals = compiled["planning"]["milestones"]
    assert {m["type"] for m in approvals} == {"approval"}
    assert {m["status"] for m in approvals} == {"met"}
    assert len(approvals) == 3  # rosa, jorge and ana approved the design
    assert compiled["tender"]["status"] == "complete"
    assert compiled["tender"]["numberOfTenderers"] == 3
    assert compiled["awards"][0]["value"] == {"amount": 12000000, "currency": "PEN"}
    contract = compiled["contracts"][0]
    assert contract["status"] == "terminated"
    assert contract["value"] == {"amount": 12600000, "currency": "PEN"}  # with the additional
    (amendment,) = contract["amendments"]
    assert amendment["rationale"] == "Mayor metrado de obras de arte"
    assert amendment["description"] == "Adicional de obra por 600000.00 PEN"
    (valuation,) = contract["implementation"]["transactions"]
    assert valuation["value"] == {"amount": 3600000, "currency": "PEN"}
    progress = [m for m in contract["implementation"]["milestones"] if m["type"] == "reporting"]
    assert "Avance físico acumulado 35.00 %" in progress[0]["description"]
    bases = [m for m in compiled["tender"]["milestones"] if m["code"] == "bases_integrated"]
    assert bases and bases[0]["status"] == "met"
    assert compiled["planning"]["budget"]["amount"] == {"amount": 12500000, "currency": "PEN"}


def test_milestones_are_each_members_latest_signoff_on_the_applied_proposal(world):
    world.attach("feasibilityStudy")
    withdrawn = world.propose("approve_design")
    world.sign(withdrawn.id, "carmen")
    world.lc.withdraw_proposal(actor=world.official, work_id=world.work_id,
                               proposal_id=withdrawn.id)
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa", "jorge", "ana")
    world.sign(proposal.id, "luis", decision="block", reason="Falta el estudio de suelos")
    world.sign(proposal.id, "luis")  # its author lifts the block by approving
    assert world.apply(proposal.id).applied
    releases = [r.data for r in ocds.releases(entries_of(world.lc), PUB)]
    milestones = releases[-1]["planning"]["milestones"]
    assert [m["id"] for m in milestones] == [
        f"signoff-{proposal.id}-{world.members[n].id}" for n in ("rosa", "jorge", "ana", "luis")]
    assert all(m["status"] == "met" and m["dateMet"] for m in milestones)
    luis = milestones[-1]
    assert "Universidad Nacional Pedro Ruiz Gallo" in luis["description"]


def test_records_are_what_ocdsmerge_compiles_from_the_releases(closed):
    releases = [r.data for r in ocds.releases(entries_of(closed.lc), PUB)]
    record = ocds.record(releases[0]["ocid"], releases)
    # An independent merger, built from the standard's own copy of the schema.
    reference = Merger(schema=str(fixtures_dir("ocds") / "release-schema.json"))
    assert record["compiledRelease"] == reference.create_compiled_release(releases)
    assert record["versionedRelease"] == reference.create_versioned_release(releases)
    versions = record["versionedRelease"]["tender"]["status"]
    assert [v["value"] for v in versions] == ["planning", "active", "complete"]
    check(ocds.record_package([record], PUB, PUB.api("/ocds/records/x")), "record-package")


def test_releases_never_change_once_published(world):
    world.advance("approve_design", ("feasibilityStudy",))
    before = [r.data for r in ocds.releases(entries_of(world.lc), PUB)]
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    world.member("nuevo", "unprg")  # a new monitor joins: later releases name it, not earlier
    world.attach("clarifications")
    after = [r.data for r in ocds.releases(entries_of(world.lc), PUB)]
    assert after[:len(before)] == before
    assert len(after) > len(before)


def test_an_invalid_package_is_refused_with_every_problem():
    package = json.loads((fixtures_dir("ocds") / "examples" /
                          "ocds-213czf-000-00001-02-tender.json").read_text())
    assert problems(package, "release-package") == []
    package["releases"][0]["tag"] = ["tenderish"]
    package["releases"][0]["tender"]["status"] = "open"
    with pytest.raises(InvalidPackage) as caught:
        check(package, "release-package")
    paths = {p.path for p in caught.value.problems}
    assert {"/releases/0/tag/0", "/releases/0/tender/status"} <= paths | {
        "/releases/0/tag"}
    assert any("closed codelist releaseTag.csv" in p.message for p in caught.value.problems)


def test_the_standards_own_examples_validate():
    for example in sorted((fixtures_dir("ocds") / "examples").glob("*.json")):
        assert problems(json.loads(example.read_text()), "release-package") == [], example
    project = json.loads((fixtures_dir("oc4ids") / "example.json").read_text())
    assert problems(project, "project-package") == []


def test_oc4ids_project_follows_the_work(closed):
    feed = Feed.of(closed.lc, PUB)
    work = feed.work(closed.work_id)
    package = feed.project_package(work, PUB.api(f"/oc4ids/projects/{work.id}"))
    (project,) = package["projects"]
    assert project["id"] == "oc4ids-test01-LAM-2026-001"
    assert project["status"] == "completion"
    assert project["budget"]["amount"] == {"amount": 12500000, "currency": "PEN"}
    assert project["locations"][0]["address"]["region"] == "Lambayeque"
    assert "publicAuthority" in next(p for p in project["parties"]
                                     if p["id"] == project["publicAuthority"]["id"])["roles"]
    (process,) = project["contractingProcesses"]
    assert process["id"] == "ocds-test01-LAM-2026-001"
    assert process["summary"]["status"] == "closed"
    assert process["summary"]["contractValue"] == {"amount": 12600000, "currency": "PEN"}
    (modification,) = process["summary"]["modifications"]
    assert modification["type"] == "value"
    assert process["summary"]["transactions"][0]["value"]["amount"] == 3600000
    assert [r["id"] for r in process["releases"]] == [
        r["id"] for r in feed.work_releases(work.id)]
    assert project["completion"]["finalValue"] == {"amount": 12600000, "currency": "PEN"}


def test_oc4ids_status_in_each_stage(world):
    feed = Feed.of(world.lc, PUB)
    statuses = [oc4ids.project(feed.work(world.work_id), feed.work_releases(world.work_id),
                               PUB)["status"]]
    world.advance("approve_design", ("feasibilityStudy",))
    statuses.append(oc4ids.project(feed.work(world.work_id),
                                   feed.work_releases(world.work_id), PUB)["status"])
    assert statuses == ["identification", "preparation"]


def test_cancelled_tender_is_a_tender_cancellation(world):
    world.advance("approve_design", ("feasibilityStudy",))
    world.advance("publish_tender", ("technicalSpecifications", "budgetApproval"))
    world.advance("cancel", ("cancellationDetails",))
    releases = [r.data for r in ocds.releases(entries_of(world.lc), PUB)]
    assert releases[-1]["tag"] == ["tenderCancellation"]
    record = ocds.record(releases[0]["ocid"], releases)
    assert record["compiledRelease"]["tender"]["status"] == "cancelled"
    check(ocds.record_package([record], PUB, PUB.api("/r")), "record-package")
    feed = Feed.of(world.lc, PUB)
    project = feed.project_package(feed.work(world.work_id), PUB.api("/p"))["projects"][0]
    assert project["status"] == "cancelled"


def test_export_ocds_writes_validated_packages_and_json_lines(closed, tmp_path, monkeypatch,
                                                              backend):
    monkeypatch.setenv("LIFECYCLE_OCID_PREFIX", "ocds-test01")
    if backend == "postgresql":
        monkeypatch.setenv("LIFECYCLE_DATABASE_URL", PG_URL)
    folder = tmp_path / "open-data"
    result = CliRunner().invoke(app, ["export", "ocds", str(folder), "--data-dir",
                                      str(closed.lc.data_dir)])
    assert result.exit_code == 0, result.output
    assert "1 records" in result.output
    releases = [json.loads(line) for line in
                (folder / "releases.jsonl").read_text("utf-8").splitlines()]
    assert releases == json.loads((folder / "release-package.json").read_text())["releases"]
    assert all(r["ocid"] == "ocds-test01-LAM-2026-001" for r in releases)
    check(json.loads((folder / "release-package.json").read_text()), "release-package")
    check(json.loads((folder / "record-package.json").read_text()), "record-package")
    check(json.loads((folder / "project-package.json").read_text()), "project-package")
    records = (folder / "records.jsonl").read_text("utf-8").splitlines()
    projects = (folder / "projects.jsonl").read_text("utf-8").splitlines()
    assert len(records) == len(projects) == 1


def test_details_and_corrections_reach_ocds_and_oc4ids(world):
    work = world.lc.register_work(
        actor=world.official, code="LAM-2026-009", title="Canal de riego Santa Rosa",
        region="Lambayeque", reference_amount="4300000.00", currency="PEN", cui="2456789",
        province="Ferreñafe", district="Pítipo", sector="waterAndWaste",
        description="Revestimiento de 12 km de canal")
    world.lc.correct_work(actor=world.official, work_id=work.id,
                          reason="El título del expediente dice Santa Rosa Baja",
                          title="Canal de riego Santa Rosa Baja")
    feed = Feed.of(world.lc, PUB)
    releases = feed.work_releases(work.id)
    assert [r["tag"] for r in releases] == [["planning"], ["planningUpdate"]]
    record = ocds.record(releases[0]["ocid"], releases)
    compiled = record["compiledRelease"]
    assert compiled["tender"]["title"] == "Canal de riego Santa Rosa Baja"
    assert compiled["tender"]["description"] == "Revestimiento de 12 km de canal"
    assert compiled["planning"]["budget"]["projectID"] == "2456789"
    check(ocds.record_package([record], PUB, PUB.api("/r")), "record-package")
    package = feed.project_package(feed.work(work.id), PUB.api("/p"))
    (project,) = package["projects"]
    assert project["title"] == "Canal de riego Santa Rosa Baja"
    assert {"id": "2456789", "scheme": "PE-CUI"} in project["identifiers"]
    assert project["sector"] == ["waterAndWaste"]
    location = project["locations"][0]
    assert location["description"] == "Pítipo, Ferreñafe, Lambayeque"
    assert location["address"]["locality"] == "Pítipo"
