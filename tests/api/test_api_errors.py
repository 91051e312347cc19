"""Bad input is a 4xx problem+json that names the field (or every failing guard)."""

import base64

import pytest

from api_world import SUPPLIER  # tests/api/api_world.py


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def fields(body: dict) -> set[str]:
    return {e.get("field") for e in body["errors"]}


def test_malformed_json_names_the_body(api):
    response = api.client.post(f"/api/v1/works/{api.work_id}/proposals",
                               content=b'{"trigger": "approve_design",',
                               headers={**api.auth("oficial"),
                                        "Content-Type": "application/json"})
    body = problem_of(response, 422)
    assert fields(body) == {"body"}
    assert "JSON" in body["errors"][0]["message"]


@pytest.mark.parametrize("payload, field", [
    ({"trigger": 5, "justification": "x"}, "trigger"),
    ({"trigger": "fly_away", "justification": "x"}, "trigger"),
    ({"justification": "x"}, "trigger"),
    ({"trigger": "approve_design", "justification": ["x"]}, "justification"),
    ({"trigger": "approve_design", "justifcation": "typo"}, "justifcation"),
    ({"trigger": "award", "award": {"supplier": SUPPLIER, "amount": 12.5, "bidders": 2}},
     "award.amount"),
    ({"trigger": "award", "award": {"supplier": SUPPLIER, "amount": "doce mil", "bidders": 2}},
     "award.amount"),
    ({"trigger": "award", "award": {"supplier": SUPPLIER, "amount": "12.5", "bidders": "two"}},
     "award.bidders"),
])
def test_bad_proposal_input_names_the_field(api, payload, field):
    body = problem_of(api.post(f"/works/{api.work_id}/proposals", "oficial", json=payload), 422)
    assert field in fields(body)
    assert api.work()["proposals"] == []


def test_a_proposal_that_is_not_legal_from_the_stage_is_refused(api):
    body = problem_of(api.propose("sign_contract"), 409)
    assert body["errors"] == [{"guard": "stage",
                               "message": "sign_contract is not allowed from stage design"}]


@pytest.mark.parametrize("payload, field", [
    ({"decision": "maybe"}, "decision"),
    ({"decision": "block"}, "reason"),
    ({"decision": "block", "reason": "   "}, "reason"),
    ({}, "decision"),
])
def test_bad_signoff_names_the_field(api, payload, field):
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    response = api.post(f"/works/{api.work_id}/proposals/{proposal}/signoffs", "rosa",
                        json=payload)
    assert field in fields(problem_of(response, 422))


@pytest.mark.parametrize("params, field", [
    ({"stage": "limbo"}, "stage"), ({"limit": 0}, "limit"), ({"limit": "many"}, "limit"),
    ({"stalled": "perhaps"}, "stalled"), ({"cursor": "garbage!"}, "cursor"),
    ({"network": "uno"}, "network"),
])
def test_bad_work_filters_name_the_parameter(api, params, field):
    assert field in fields(problem_of(api.get("/works", params=params), 422))


@pytest.mark.parametrize("amount", ["12,5", "-1.00", "1.234", "1e6", 1250000.5, True])
def test_reference_amount_must_be_a_decimal_string(api, amount):
    response = api.post("/works", "oficial", json={
        "code": "LAM-X", "title": "Obra", "region": "Lambayeque", "network_id": api.network_id,
        "reference_amount": amount})
    assert fields(problem_of(response, 422)) == {"reference_amount"}


def test_wrong_path_parameter_type_names_it(api):
    assert fields(problem_of(api.get("/works/abc"), 422)) == {"work_id"}


@pytest.mark.parametrize("path, params, field", [
    ("/log/proof/inclusion", {"index": 0}, "size"),
    ("/log/proof/inclusion", {"index": 5, "size": 3}, "index"),
    ("/log/proof/inclusion", {"index": 0, "size": 10 ** 6}, "size"),
    ("/log/proof/consistency", {"first": 3, "second": 2}, "first"),
    ("/log", {"limit": 5000}, "limit"),
])
def test_bad_log_queries_name_the_parameter(api, path, params, field):
    assert field in fields(problem_of(api.get(path, params=params), 422))


def test_unknown_document_kind_and_missing_file_are_named(api):
    response = api.post(f"/works/{api.work_id}/documents", "oficial",
                        data={"kind": "selfie", "title": "x"},
                        files={"file": ("a.pdf", b"x", "application/pdf")})
    assert fields(problem_of(response, 422)) == {"kind"}
    response = api.post(f"/works/{api.work_id}/documents", "oficial",
                        data={"kind": "feasibilityStudy", "title": "x"})
    assert fields(problem_of(response, 422)) == {"file"}


def test_upload_over_the_limit_is_refused_and_not_stored(api, lc):
    lc.max_upload_bytes = 1000
    body = problem_of(api.attach("feasibilityStudy", content=b"x" * 1001), 413)
    assert fields(body) == {"file"}
    # Far over the limit: refused from Content-Length, before the body is read.
    body = problem_of(api.attach("feasibilityStudy", content=b"x" * 200_000), 413)
    assert fields(body) == {"file"}
    assert api.ok(api.attach("feasibilityStudy", content=b"x" * 1000), 201)["size"] == 1000
    assert [d["size"] for d in api.work()["documents"]] == [1000]


def test_chunked_upload_over_the_limit_is_refused(api, lc):
    lc.max_upload_bytes = 1000

    def chunks():
        boundary = b"--b0undary"
        yield (boundary + b'\r\nContent-Disposition: form-data; name="kind"\r\n\r\n'
               b'feasibilityStudy\r\n')
        yield boundary + b'\r\nContent-Disposition: form-data; name="title"\r\n\r\nbig\r\n'
        yield boundary + (b'\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"'
                          b'\r\nContent-Type: application/pdf\r\n\r\n')
        for _ in range(100):
            yield b"y" * 4096
        yield b"\r\n" + boundary + b"--\r\n"

    response = api.client.post(
        f"/api/v1/works/{api.work_id}/documents", content=chunks(),
        headers={**api.auth("oficial"),
                 "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert fields(problem_of(response, 413)) == {"file"}
    assert api.work()["documents"] == []


def test_stale_if_match_is_412_and_a_malformed_one_is_422(api):
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    version = api.get(f"/works/{api.work_id}").headers["ETag"]
    api.ok(api.attach("feasibilityStudy"), 201)  # the work moves on to a new version
    body = problem_of(api.apply(proposal, headers={"If-Match": version}), 412)
    assert "version" in body["detail"]
    body = problem_of(api.apply(proposal, headers={"If-Match": "yesterday"}), 422)
    assert fields(body) == {"If-Match"}
    assert api.work()["stage"] == "design"


def test_refusal_lists_every_failing_guard_with_its_message(api):
    api.ok(api.attach("feasibilityStudy"), 201)
    proposal = api.ok(api.propose("approve_design"), 201)["id"]
    api.ok(api.sign(proposal, "carmen"), 201)  # her employer is the work's entity: not counted
    api.ok(api.sign(proposal, "jorge", "block", "Falta el estudio de impacto ambiental"), 201)
    body = problem_of(api.apply(proposal), 409)
    by_guard = {e["guard"]: e["message"] for e in body["errors"]}
    assert set(by_guard) == {"quorum", "blocks"}
    assert by_guard["quorum"] == ("0 of 3 approvals; approvals from 0 of 2 sectors; "
                                  "none from civil_society")
    assert "Falta el estudio de impacto ambiental" in by_guard["blocks"]
    assert {g["guard"] for g in body["guards"] if g["ok"]} >= {"documents", "stage"}
    history = api.ok(api.get(f"/works/{api.work_id}/history"))
    assert history[-1]["type"] == "transition.refused" and history[-1]["seq"] == body["seq"]


def test_a_second_apply_of_an_applied_proposal_is_a_conflict(api):
    api.advance("approve_design", documents=("feasibilityStudy",))
    body = problem_of(api.apply(1), 409)
    assert "no longer open" in body["detail"]


def test_unknown_things_are_404(api):
    for path in ["/works/999", "/networks/999", f"/works/{api.work_id}/proposals/9",
                 f"/works/{api.work_id}/documents/9", "/no/such/path"]:
        problem_of(api.get(path), 404)
    problem_of(api.apply(9), 404)


def test_a_forged_cursor_is_a_422_not_a_crash(api):
    forged = base64.urlsafe_b64encode(b"w" + b"9" * 30).decode().rstrip("=")
    assert fields(problem_of(api.get("/works", params={"cursor": forged}), 422)) == {"cursor"}
