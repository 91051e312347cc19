"""A world built through the API itself, so that every user's token is at hand."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from lifecycle.bootstrap import init

API = "/api/v1"
ENTITY = "Gobierno Regional de Lambayeque"
OTHER_ENTITY = "Municipalidad Provincial de Chiclayo"
ORGANIZATIONS = {
    # key: body of POST /organizations
    "entity": {"name": ENTITY, "kind": "public_entity", "sector": "government",
               "tax_id": "20479569861", "region": "Lambayeque"},
    "other_entity": {"name": OTHER_ENTITY, "kind": "public_entity", "sector": "government",
                     "tax_id": "20148445061", "region": "Lambayeque"},
    "mesa": {"name": "Mesa de Concertación de Mujeres", "kind": "association",
             "sector": "civil_society"},
    "camara": {"name": "Cámara de Comercio de Lambayeque", "kind": "association",
               "sector": "private_sector"},
    "colegio": {"name": "Colegio de Ingenieros del Perú", "kind": "association",
                "sector": "professional_association"},
    "unprg": {"name": "Universidad Nacional Pedro Ruiz Gallo", "kind": "university",
              "sector": "academia"},
    "colectivo_piura": {"name": "Colectivo Juvenil de Piura", "kind": "ngo",
                        "sector": "civil_society"},
}
MEMBERS = [
    # username, organization key, constituencies
    ("rosa", "mesa", ["women"]),
    ("jorge", "camara", []),
    ("ana", "colegio", ["youth"]),
    ("luis", "unprg", ["indigenous"]),
    ("carmen", "entity", []),
]
SUPPLIER = {"name": "Constructora Andina S.A.C.", "tax_id": "20100070970"}


@dataclass
class ApiWorld:
    """Network 1 oversees work 1 of ENTITY. `oficial` acts for ENTITY, `otro` for another
    entity; `pedro` is a member of network 2 only; `auditora` audits."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    network_id: int = 0
    other_network_id: int = 0
    work_id: int = 0
    orgs: dict[str, int] = field(default_factory=dict)

    def auth(self, name: str | None) -> dict:
        return {"Authorization": f"Bearer {self.tokens[name]}"} if name else {}

    def post(self, path: str, name: str | None, **kwargs):
        return self.client.post(API + path, headers=self.auth(name), **kwargs)

    def get(self, path: str, name: str | None = None, **kwargs):
        return self.client.get(API + path, headers=self.auth(name), **kwargs)

    def ok(self, response, status: int = 200) -> dict:
        assert response.status_code == status, response.text
        return response.json()

    def add_user(self, username: str, role: str, organization: str | None = None,
                 person_id: str | None = None) -> dict:
        body = self.ok(self.post("/users", "admin", json={
            "username": username, "role": role, "person_id": person_id,
            "organization_id": self.orgs[organization] if organization else None}), 201)
        self.tokens[username], self.ids[username] = body["token"], body["id"]
        return body

    def attach(self, kind: str, content: bytes | None = None, name: str = "oficial",
               work_id: int | None = None):
        return self.post(f"/works/{work_id or self.work_id}/documents", name,
                         data={"kind": kind, "title": f"{kind} v1"},
                         files={"file": (f"{kind}.pdf", content or f"%PDF {kind}".encode(),
                                         "application/pdf")})

    def propose(self, trigger: str, award: dict | None = None, name: str = "oficial"):
        return self.post(f"/works/{self.work_id}/proposals", name, json={
            "trigger": trigger, "justification": f"ready for {trigger}", "award": award})

    def sign(self, proposal_id: int, name: str, decision: str = "approve",
             reason: str | None = None):
        return self.post(f"/works/{self.work_id}/proposals/{proposal_id}/signoffs", name,
                         json={"decision": decision, "reason": reason})

    def apply(self, proposal_id: int, name: str = "oficial", headers: dict | None = None):
        return self.client.post(f"{API}/works/{self.work_id}/proposals/{proposal_id}/apply",
                                headers={**self.auth(name), **(headers or {})})

    def advance(self, trigger: str, documents: tuple[str, ...] = (), award: dict | None = None,
                signers: tuple[str, ...] = ("rosa", "jorge", "ana")) -> dict:
        for kind in documents:
            self.ok(self.attach(kind), 201)
        proposal = self.ok(self.propose(trigger, award), 201)
        for name in signers:
            self.ok(self.sign(proposal["id"], name), 201)
        return self.ok(self.apply(proposal["id"]))

    def work(self) -> dict:
        return self.ok(self.get(f"/works/{self.work_id}"))


def build_api_world(lc, client: TestClient) -> ApiWorld:
    world = ApiWorld(client)
    world.tokens["admin"] = init(lc)
    world.network_id = world.ok(world.post("/networks", "admin", json={
        "name": "Red de Integridad Lambayeque", "regions": ["Lambayeque"]}), 201)["id"]
    world.other_network_id = world.ok(world.post("/networks", "admin", json={
        "name": "Red de Integridad Piura", "regions": ["Piura"]}), 201)["id"]
    for key, body in ORGANIZATIONS.items():
        world.orgs[key] = world.ok(world.post("/organizations", "admin", json=body), 201)["id"]
    world.add_user("oficial", "official", "entity")
    world.add_user("otro", "official", "other_entity")
    world.add_user("auditora", "auditor")
    for username, organization, constituencies in MEMBERS:
        world.add_user(username, "member")
        world.ok(world.post(f"/networks/{world.network_id}/members", "admin", json={
            "user_id": world.ids[username], "organization_id": world.orgs[organization],
            "constituencies": constituencies}), 201)
    world.add_user("pedro", "member")
    world.ok(world.post(f"/networks/{world.other_network_id}/members", "admin", json={
        "user_id": world.ids["pedro"], "organization_id": world.orgs["colectivo_piura"]}), 201)
    world.work_id = world.ok(world.post("/works", "oficial", json={
        "code": "LAM-2026-001", "title": "Mejoramiento de la carretera Chiclayo–Ferreñafe",
        "region": "Lambayeque", "reference_amount": "12500000.00", "currency": "PEN"}),
        201)["id"]
    return world
