"""Public reads: work lists and their filters, the work detail a reviewer sees, reports, the
stage table and the log with its proofs."""

import json

from lifecycle.log import merkle
from lifecycle.log.note import verify_checkpoint
from api_world import SUPPLIER  # tests/api/api_world.py


def register(api, code: str, region: str = "Lambayeque") -> int:
    return api.ok(api.post("/works", "oficial", json={
        "code": code, "title": f"Obra {code}", "region": region,
        "reference_amount": "100000.00"}), 201)["id"]


def test_pages_cover_every_work_once_in_a_stable_order(api):
    ids = [api.work_id] + [register(api, f"LAM-{i:03}") for i in range(2, 8)]
    seen, cursor = [], None
    while True:
        page = api.ok(api.get("/works", params={"limit": 3, **({"cursor": cursor} if cursor
                                                                 else {})}))
        seen += [w["id"] for w in page["works"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["works"]) == 3
    assert seen == ids


def test_filters_by_stage_network_and_region(api):
    other = register(api, "PIU-001", "Piura")  # Piura's network oversees it
    api.advance("approve_design", documents=("feasibilityStudy",))
    def codes(**params):
        return [w["id"] for w in api.ok(api.get("/works", params=params))["works"]]
    assert codes(stage="technical_file") == [api.work_id]
    assert codes(stage="design") == [other]
    assert codes(network=api.other_network_id) == [other]
    assert codes(region="Piura") == [other]
    assert codes(region="Cusco") == []
    assert codes(search="piu") == [other]


def test_stalled_filter_and_report_use_the_stage_service_levels(api, clock):
    fresh = register(api, "LAM-NEW")
    api.ok(api.client.put(f"/api/v1/networks/{api.network_id}/policy",
                          headers=api.auth("admin"), json={"stage_sla_days": {"design": 30}}))
    clock.advance(days=20)
    late = register(api, "LAM-LATER")
    clock.advance(days=15)  # the first two works are 35 days in design, the third 15
    stalled = api.ok(api.get("/works", params={"stalled": "true"}))["works"]
    assert [w["id"] for w in stalled] == [api.work_id, fresh]
    assert [w["id"] for w in api.ok(api.get("/works", params={"stalled": "false"}))["works"]
            ] == [late]
    report = api.ok(api.get("/reports/stalled"))["overdue"]
    assert [(r["work_id"], r["sla_days"], r["days_overdue"]) for r in report] == [
        (api.work_id, 30, 5), (fresh, 30, 5)]


def test_work_detail_shows_tally_red_flags_and_what_is_missing(api, clock):
    api.advance("approve_design", documents=("feasibilityStudy",))
    api.advance("publish_tender", documents=("technicalSpecifications", "budgetApproval"))
    api.ok(api.attach("evaluationReports"), 201)
    clock.advance(days=15)
    supplier = api.ok(api.post("/organizations", "admin", json={
        "name": SUPPLIER["name"], "tax_id": SUPPLIER["tax_id"], "kind": "company",
        "sector": "private_sector"}), 201)
    api.add_user("jorge.ing", "member")
    api.ok(api.post(f"/networks/{api.network_id}/members", "admin", json={
        "user_id": api.ids["jorge.ing"], "organization_id": supplier["id"]}), 201)
    api.ok(api.post(f"/works/{api.work_id}/milestones", "oficial", json={
        "code": "bases_integrated", "date": clock.now.date().isoformat()}), 201)
    proposal = api.ok(api.propose("award", award={
        "supplier": SUPPLIER, "amount": "14000000.00", "bidders": 1}), 201)["id"]
    api.ok(api.sign(proposal, "rosa"), 201)
    api.ok(api.sign(proposal, "jorge.ing"), 201)  # his organization is the proposed supplier
    api.ok(api.sign(proposal, "ana"), 201)
    api.ok(api.attach("evaluationReports", content=b"revised report"), 201)  # stales all three
    api.ok(api.sign(proposal, "ana"), 201)  # ana approves the new dossier again

    response = api.get(f"/works/{api.work_id}")
    detail = api.ok(response)
    assert response.headers["ETag"] == f'"{detail["version"]}"'
    assert detail["stage"] == "tender"
    assert detail["red_flags"] == ["single_bidder", "amount_above_reference"]
    open_ = detail["open_proposal"]
    assert open_["required_approvals"] == 5 and open_["counted_approvals"] == 1
    current = {s["username"]: s for s in open_["signoffs"] if s["current"]}
    assert current["rosa"]["stale"] and not current["rosa"]["counts"]
    assert current["rosa"]["excluded"] == "stale: given before the dossier last changed"
    assert current["jorge.ing"]["excluded"] == "works for the proposed supplier"
    assert current["ana"]["counts"] and not current["ana"]["stale"]
    superseded = [s for s in open_["signoffs"] if not s["current"]]
    assert [(s["username"], s["stale"]) for s in superseded] == [("ana", True)]
    missing = {g["guard"]: g["message"] for g in detail["missing"]}
    assert set(missing) == {"quorum"}
    assert missing["quorum"].startswith("1 of 5 approvals (raised by red flags")
    assert {g["guard"] for g in detail["dry_run"]} >= {"tender_period", "award_data", "blocks"}
    assert "award" in detail["legal_triggers"]


def test_document_download_serves_the_bytes_with_safe_headers(api):
    document = api.ok(api.attach("feasibilityStudy", content=b"<html>estudio</html>"), 201)
    response = api.get(f"/works/{api.work_id}/documents/{document['id']}")
    assert response.status_code == 200 and response.content == b"<html>estudio</html>"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == f'"{document["sha256"]}"'


def test_stage_table_comes_from_the_machine(api):
    table = api.ok(api.get("/stages"))
    assert table["initial"] == "design" and set(table["final"]) == {"closure", "cancelled"}
    resume = next(t for t in table["transitions"] if t["trigger"] == "resume")
    assert resume["from"] == ["suspended"] and resume["to"] == "previous"
    assert {"trigger": "approve_design", "from": "design", "to": "technical_file"} in table["edges"]


def test_log_feed_pages_without_gaps_and_matches_the_stored_bytes(api, lc):
    seqs, after = [], -1
    while after is not None:
        page = api.ok(api.get("/log", params={"after": after, "limit": 7}))
        seqs += [e["seq"] for e in page["entries"]]
        after = page["next_after"]
    assert seqs == list(range(lc.log_size()))
    raw = api.get("/log", params={"format": "jsonl", "limit": 1000})
    assert raw.headers["content-type"] == "application/jsonl"
    lines = raw.content.split(b"\n")[:-1]
    assert lines == lc.entries(after=-1, limit=1000)
    assert [json.loads(line) for line in lines][3] == api.ok(api.get("/log"))["entries"][3]


def test_proofs_verify_against_a_signed_checkpoint(api):
    first = api.get("/log/checkpoint").text
    _, first_size, first_root = verify_checkpoint(first, api.get("/log/vkey").text)
    api.ok(api.attach("feasibilityStudy"), 201)
    second = api.get("/log/checkpoint").text
    _, size, root = verify_checkpoint(second, api.get("/log/vkey").text)
    assert size == first_size + 1

    proof = api.ok(api.get("/log/proof/consistency",
                           params={"first": first_size, "second": size}))
    assert (proof["first_root"], proof["second_root"]) == (first_root.hex(), root.hex())
    assert merkle.verify_consistency(first_size, size, first_root, root,
                                     [bytes.fromhex(h) for h in proof["path"]])
    entry = api.ok(api.get("/log", params={"after": size - 2, "limit": 1}))["entries"][0]
    assert entry["type"] == "document.attached"
    proof = api.ok(api.get("/log/proof/inclusion", params={"index": size - 1, "size": size}))
    assert merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), size - 1, size,
                                   [bytes.fromhex(h) for h in proof["path"]], root)
