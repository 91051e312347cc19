"""`lifecycle import seace FILE`: Peru's OCDS records brought in as works, keyed by RUC, with
exact amounts, the source kept, non-works refused with a reason, and no change on a second run."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from typer.testing import CliRunner

from lifecycle.audit.check import check_database
from lifecycle.cli import app
from lifecycle.errors import Forbidden, Invalid
from lifecycle.opendata import Publication, ocds, seace
from lifecycle.opendata.publish import Feed
from lifecycle.opendata.validate import check
from lifecycle.reducer import replay
from tests.conftest import ENTITY_RUC, PG_URL, SUPPLIER, fixtures_dir

BUYER_RUC = "20453053718"  # a valid RUC (check digit) of an entity lifecycle does not know yet


def sample() -> dict:
    return json.loads((fixtures_dir("seace") / "records-2024-11-05.json").read_text("utf-8"))


def works_package(*, ocid="ocds-dgv273-seacev3-2099001", code="LP-SM-3-2024-GRL-1",
                  ruc=BUYER_RUC, region="LAMBAYEQUE", amount="2345678.9",
                  award: bool = False) -> bytes:
    """A record package in the real sample's shape, for a works process (the sample has none).
    Amounts are written as JSON numbers, as SEACE writes them."""
    package = sample()
    record = copy.deepcopy(package["records"][0])
    compiled = record["compiledRelease"]
    record["ocid"] = compiled["ocid"] = ocid
    buyer = compiled["parties"][0]
    buyer["name"] = "GOBIERNO REGIONAL LAMBAYEQUE - SEDE CENTRAL"
    buyer["additionalIdentifiers"][0]["id"] = ruc
    buyer["address"]["region"] = buyer["address"]["department"] = region
    compiled["buyer"]["name"] = buyer["name"]
    tender = compiled["tender"]
    tender.update(title=code, mainProcurementCategory="works",
                  additionalProcurementCategories=["works"],
                  description="MEJORAMIENTO DEL CANAL DE RIEGO SANTA ROSA, DISTRITO DE "
                              "PÍTIPO, FERREÑAFE, LAMBAYEQUE")
    tender["value"] = {"amount": "@AMOUNT@", "currency": "PEN"}
    if award:
        compiled["parties"].append({
            "id": "PE-RUC-" + SUPPLIER["tax_id"], "name": SUPPLIER["name"],
            "identifier": {"scheme": "PE-RUC", "id": SUPPLIER["tax_id"],
                           "legalName": SUPPLIER["name"]}, "roles": ["supplier"]})
        compiled["awards"] = [{"id": "1", "status": "active", "value": {
            "amount": "@AMOUNT@", "currency": "PEN"},
            "suppliers": [{"id": "PE-RUC-" + SUPPLIER["tax_id"], "name": SUPPLIER["name"]}]}]
        tender["numberOfTenderers"] = 2
    package["records"] = [record]
    return json.dumps(package, ensure_ascii=False).replace('"@AMOUNT@"', amount).encode()


def entries_of(lc) -> list[dict]:
    return [json.loads(raw) for raw in lc.entries(limit=100_000)]


def import_all(world, raw: bytes):
    parsed = seace.read(raw)
    return parsed, [world.lc.import_work(actor=world.admin, process=p) for p in parsed.processes]


def test_the_real_sample_is_refused_process_by_process_saying_why():
    parsed = seace.read((fixtures_dir("seace") / "records-2024-11-05.json").read_bytes())
    assert parsed.processes == []
    assert len(parsed.refusals) == 20
    categories = {r["compiledRelease"]["ocid"]: r["compiledRelease"]["tender"][
        "mainProcurementCategory"] for r in sample()["records"]}
    for refusal in parsed.refusals:
        assert refusal.reason.startswith(f"category '{categories[refusal.source_ocid]}', not works")


def test_a_works_record_becomes_a_work_at_the_stage_the_source_shows(world):
    parsed, (outcome,) = import_all(world, works_package())
    assert outcome.status == "imported"
    work = world.lc.get_work(outcome.work_id)
    assert (work.code, work.stage, work.region) == ("LP-SM-3-2024-GRL-1", "tender", "Lambayeque")
    assert work.reference_amount == "2345678.90"  # the JSON number, exactly, as a decimal string
    assert work.network_id == world.network_id
    entity = world.lc.get_organization(work.entity_id)
    assert (entity.tax_id, entity.kind) == (BUYER_RUC, "public_entity")
    (document,) = work.documents
    kept = parsed.processes[0].source_json
    assert document.sha256 == hashlib.sha256(kept).hexdigest()
    assert json.loads(kept)["ocid"] == "ocds-dgv273-seacev3-2099001"
    (entry,) = [e for e in entries_of(world.lc) if e["type"] == "work.imported"]
    assert entry["data"]["source_ocid"] == "ocds-dgv273-seacev3-2099001"
    assert entry["data"]["source_sha256"] == document.sha256
    assert entry["data"]["stage"] == "tender"


def test_importing_the_same_file_twice_changes_nothing(world):
    raw = works_package()
    import_all(world, raw)
    size = world.lc.log_size()
    _, (again,) = import_all(world, raw)
    assert again.status == "unchanged"
    assert world.lc.log_size() == size


def test_the_buyer_is_found_by_its_ruc(world):
    _, (outcome,) = import_all(world, works_package(ruc=ENTITY_RUC))
    assert world.lc.get_work(outcome.work_id).entity_id == world.orgs["entity"]


def test_an_existing_work_with_the_same_code_is_linked_not_duplicated(world):
    _, (outcome,) = import_all(world, works_package(code="LAM-2026-001"))
    assert (outcome.status, outcome.work_id) == ("linked", world.work_id)
    work = world.work
    assert work.stage == "design"  # linking names the source; it moves nothing
    assert work.documents[-1].filename == "seace-ocds-dgv273-seacev3-2099001.json"


def test_an_awarded_process_starts_at_award_with_its_supplier(world):
    _, (outcome,) = import_all(world, works_package(award=True))
    work = world.lc.get_work(outcome.work_id)
    assert work.stage == "award"
    assert work.award["tax_id"] == SUPPLIER["tax_id"]
    assert work.award["amount"] == "2345678.90"
    supplier = world.lc.get_organization(work.award["supplier_id"])
    assert (supplier.kind, supplier.tax_id) == ("company", SUPPLIER["tax_id"])
    entity = world.lc.get_organization(work.entity_id)
    assert (entity.kind, entity.tax_id) == ("public_entity", BUYER_RUC)
    assert work.excluded_organizations == [supplier.id]
    assert check_database(world.lc)[0] == []  # every entry legal, projections == replay


def test_a_region_without_network_is_refused(world):
    parsed = seace.read(works_package(region="TUMBES"))
    with pytest.raises(Invalid, match="no network oversees TUMBES"):
        world.lc.import_work(actor=world.admin, process=parsed.processes[0])


def test_refusals_name_their_reason():
    for raw, reason in [
        (works_package(ruc="20453053710"), "is not valid (check digit)"),
        (works_package(amount="0.0"), "no positive reference amount"),
    ]:
        (refusal,) = seace.read(raw).refusals
        assert reason in refusal.reason
    with pytest.raises(seace.SeaceFormatError):
        seace.read(b'{"data": []}')
    with pytest.raises(seace.SeaceFormatError):
        seace.read(b"not json")


def test_only_an_admin_imports(world):
    parsed = seace.read(works_package())
    with pytest.raises(Forbidden, match="admin"):
        world.lc.import_work(actor=world.official, process=parsed.processes[0])


def test_replay_rebuilds_the_imported_work_and_it_publishes_valid_ocds(world):
    _, (outcome,) = import_all(world, works_package())
    rebuilt = replay(entries_of(world.lc)).works[outcome.work_id]
    assert rebuilt.to_dict() == world.lc.get_work(outcome.work_id).to_dict()
    assert check_database(world.lc)[0] == []  # chain, Merkle nodes, projections == replay
    publication = Publication(ocid_prefix="ocds-test01")
    feed = Feed.of(world.lc, publication)
    releases = feed.work_releases(outcome.work_id)
    assert releases[0]["tag"] == ["planning", "tender"]
    assert releases[0]["relatedProcesses"][0]["identifier"] == "ocds-dgv273-seacev3-2099001"
    urls = [d["url"] for d in releases[0]["tender"]["documents"]]
    assert urls and all(u.startswith("https://prod1.seace.gob.pe/") for u in urls)
    work = feed.work(outcome.work_id)
    check(feed.record_package(work, publication.api("/r")), "record-package")
    check(feed.project_package(work, publication.api("/p")), "project-package")
    assert ocds.amount(work.reference_amount) == 2345678.9


def test_cli_imports_and_refuses_line_by_line(world, tmp_path, monkeypatch, backend):
    if backend == "postgresql":
        monkeypatch.setenv("LIFECYCLE_DATABASE_URL", PG_URL)
    mixed = json.loads(works_package())
    mixed["records"] += sample()["records"][:2]
    path = tmp_path / "seace.json"
    path.write_text(json.dumps(mixed, ensure_ascii=False), encoding="utf-8")
    command = ["import", "seace", str(path), "--data-dir", str(world.lc.data_dir)]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith("imported ocds-dgv273-seacev3-2099001: work 2 LP-SM-3-2024-GRL-1")
    assert sum(line.startswith("refused ") and "not works" in line for line in lines) == 2
    assert lines[-1] == "1 imported, 0 linked, 0 unchanged, 2 refused"
    second = CliRunner().invoke(app, command)
    assert second.output.splitlines()[-1] == "0 imported, 0 linked, 1 unchanged, 2 refused"


def test_replay_judges_imports_and_reports_a_forged_one(world, tmp_path):
    """An import logged past the service — by an official, or of a process imported before —
    is reported by replay with its entry number."""
    from tests.test_audit_forged import forge, official

    _, (outcome,) = import_all(world, works_package())
    imported = next(e for e in entries_of(world.lc) if e["type"] == "work.imported")
    again = {**imported["data"], "work_id": outcome.work_id + 1, "code": "OTRA-2024-1"}
    k, illegal = forge(world, tmp_path, "work.imported", {"id": world.admin.id, "role": "admin"},
                       again)
    assert any(line.startswith(f"entry {k}: work.imported not allowed: source_ocid")
               for line in illegal), illegal
    fresh = {**again, "source_ocid": "ocds-dgv273-seacev3-2099777"}
    k, illegal = forge(world, tmp_path / "b", "work.imported", official(world), fresh)
    assert any(line.startswith(f"entry {k}: work.imported not allowed") for line in illegal)
