"""The README's curl walk-through, step by step with the test client: a new work goes from
design to closure, and the first apply is refused with its reasons."""

from lifecycle.bootstrap import init
from lifecycle.log import merkle
from lifecycle.log.note import verify_checkpoint

API = "/api/v1"
ENTITY = "Municipalidad Provincial de Chiclayo"


def test_readme_walkthrough_from_design_to_closure(lc, client, clock):
    def call(method, path, token=None, status=200, headers=None, **kwargs):
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        response = client.request(method, API + path, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if "json" in response.headers["content-type"] else response.text

    admin = init(lc)  # `lifecycle serve` prints it as "admin admin <token>"

    # 1. The admin sets up a network, its policy, an official and three members.
    net = call("POST", "/networks", admin, 201,
               json={"name": "Red de Integridad Chiclayo", "regions": ["Lambayeque"]})["id"]
    policy = call("PUT", f"/networks/{net}/policy", admin, json={"min_tender_days": 8})
    assert policy["version"] == 2 and policy["min_tender_days"] == 8
    entity = call("POST", "/organizations", admin, 201, json={
        "name": ENTITY, "tax_id": "20479569861", "kind": "public_entity",
        "sector": "government", "region": "Lambayeque"})
    official = call("POST", "/users", admin, 201, json={
        "username": "luz.oficial", "role": "official", "organization_id": entity["id"]})["token"]
    members = {}
    for username, organization, sector in [
            ("rosa.mujeres", "Mesa de Concertación de Mujeres", "civil_society"),
            ("jorge.camara", "Cámara de Comercio de Lambayeque", "private_sector"),
            ("ana.ingenieros", "Colegio de Ingenieros del Perú", "professional_association")]:
        org = call("POST", "/organizations", admin, 201, json={
            "name": organization, "kind": "association", "sector": sector})
        user = call("POST", "/users", admin, 201, json={"username": username, "role": "member"})
        call("POST", f"/networks/{net}/members", admin, 201, json={
            "user_id": user["id"], "organization_id": org["id"]})
        members[username] = user["token"]
    rosa = members["rosa.mujeres"]

    # 2. The official registers a work; it starts in design.
    work = call("POST", "/works", official, 201, json={
        "code": "CIX-2026-001", "title": "Mejoramiento del mercado modelo de Chiclayo",
        "region": "Lambayeque", "reference_amount": "3400000.00",
        "currency": "PEN"})
    assert (work["stage"], work["entity"]) == ("design", ENTITY)
    w = work["id"]

    # 3. A proposal applied too early is refused, with every reason.
    p = call("POST", f"/works/{w}/proposals", official, 201,
             json={"trigger": "approve_design", "justification": "Diseño listo"})["id"]
    refusal = call("POST", f"/works/{w}/proposals/{p}/apply", official, 409)
    assert {e["guard"] for e in refusal["errors"]} == {"quorum", "documents"}
    assert "missing in this stage: feasibilityStudy" in refusal["detail"]
    assert call("GET", f"/works/{w}")["stage"] == "design"

    # 4. The missing document and the approvals, then the same proposal applies.
    def attach(kind):
        call("POST", f"/works/{w}/documents", official, 201,
             data={"kind": kind, "title": f"{kind} de {work['code']}"},
             files={"file": (f"{kind}.txt", f"{kind} of work {w}\n".encode(), "text/plain")})

    def approve_all(proposal_id):
        for token in members.values():
            call("POST", f"/works/{w}/proposals/{proposal_id}/signoffs", token, 201,
                 json={"decision": "approve"})

    attach("feasibilityStudy")
    approve_all(p)
    assert call("GET", f"/works/{w}")["missing"] == []
    etag = client.get(f"{API}/works/{w}").headers["ETag"]
    applied = call("POST", f"/works/{w}/proposals/{p}/apply", official,
                   headers={"If-Match": etag})
    assert applied["work"]["stage"] == "technical_file"

    # 5. A member's observation is answered before the tender is published.
    obs = call("POST", f"/works/{w}/observations", rosa, 201,
               json={"text": "Falta el estudio de suelos."})["id"]
    call("POST", f"/works/{w}/observations/{obs}/answer", official,
         json={"text": "Se adjuntó en el anexo 4."})

    # 6. The remaining stages, each with its documents and three approvals.
    def advance(trigger, kinds, award=None):
        for kind in kinds:
            attach(kind)
        body = {"trigger": trigger, "justification": f"{trigger}: listo"}
        if award:
            body["award"] = award
        proposal_id = call("POST", f"/works/{w}/proposals", official, 201, json=body)["id"]
        approve_all(proposal_id)
        return call("POST", f"/works/{w}/proposals/{proposal_id}/apply", official)

    assert advance("publish_tender", ["technicalSpecifications", "budgetApproval"]
                   )["work"]["stage"] == "tender"
    clock.advance(days=8)  # the minimum tender period
    call("POST", f"/works/{w}/milestones", official, 201,
         json={"code": "bases_integrated", "date": clock.now.date().isoformat()})
    assert advance("award", ["evaluationReports"], {
        "supplier": {"name": "Consorcio Mercados del Norte", "tax_id": "20100070970"},
        "amount": "3350000.00", "bidders": 4}
    )["work"]["stage"] == "award"
    clock.advance(days=12)  # the buena pro consented: five business days, no appeal
    assert advance("sign_contract", ["contractSigned"])["work"]["stage"] == "execution"
    assert advance("close", ["completionCertificate"])["work"]["stage"] == "closure"

    # 7. Anyone reads the history, and checks it against a signed checkpoint.
    history = call("GET", f"/works/{w}/history")
    types = [e["type"] for e in history]
    assert types.count("transition.applied") == 5 and types.count("transition.refused") == 1
    note = call("GET", "/log/checkpoint")
    _, size, root = verify_checkpoint(note, call("GET", "/log/vkey"))
    last = history[-1]["seq"]
    proof = call("GET", f"/log/proof/inclusion?index={last}&size={size}")
    assert merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), last, size,
                                   [bytes.fromhex(h) for h in proof["path"]], root)
