"""Parties of a contracting process: the work's entity (buyer), the network members'
organizations (independent monitors) and the awarded supplier and consortium members.

Read defensively: a work names its entity by `entity_id` (an organization record) or only by
name (`entity`); a member by `organization_id` or by the organization's name; an award's
supplier is `{name, tax_id}` or a plain name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from lifecycle.model import State, Work

RUC_SCHEME = "PE-RUC"
_RUC = re.compile(r"^[0-9]{11}$")


@dataclass
class Party:
    id: str
    name: str
    tax_id: str | None = None
    region: str | None = None
    roles: list[str] = field(default_factory=list)

    def as_ocds(self) -> dict:
        party: dict = {"id": self.id, "name": self.name}
        if self.tax_id:
            party["identifier"] = {"scheme": RUC_SCHEME, "id": self.tax_id,
                                   "legalName": self.name}
        if self.region:
            party["address"] = {"region": self.region, "countryName": "Perú"}
        party["roles"] = sorted(self.roles)
        return party

    def reference(self) -> dict:
        return {"id": self.id, "name": self.name}


def _slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "sin-nombre"


def ruc(value) -> str | None:
    """An 11-digit RUC, or None for anything else (never a guess)."""
    if isinstance(value, str) and _RUC.match(value.strip()):
        return value.strip()
    return None


def party_id(name: str, tax_id: str | None, organization_id: int | None) -> str:
    """RUC first (the same company has the same id in every publisher's data), then the
    organization record, then the name as written."""
    if tax_id:
        return f"{RUC_SCHEME}-{tax_id}"
    if organization_id is not None:
        return f"lifecycle-org-{organization_id}"
    return f"lifecycle-name-{_slug(name)}"


class Parties:
    """Collects parties by id, merging roles, in the order they were first named."""

    def __init__(self, state: State):
        self.state = state
        self.by_id: dict[str, Party] = {}

    def add(self, role: str, *, name: str | None = None, tax_id=None,
            organization_id: int | None = None) -> Party | None:
        region = None
        organization = getattr(self.state, "organizations", {}).get(organization_id) \
            if organization_id is not None else None
        if organization is not None:
            name = organization.name
            tax_id = organization.tax_id or tax_id
            region = organization.region
        if not name:
            return None
        tax_id = ruc(tax_id)
        key = party_id(name, tax_id, organization_id if organization is not None else None)
        party = self.by_id.get(key)
        if party is None:
            party = self.by_id[key] = Party(key, name, tax_id, region)
        if role not in party.roles:
            party.roles.append(role)
        return party

    def as_ocds(self) -> list[dict]:
        return [p.as_ocds() for p in self.by_id.values()]


def buyer(parties: Parties, work: Work) -> Party | None:
    return parties.add("buyer", name=work.entity, organization_id=getattr(work, "entity_id", None))


def monitors(parties: Parties, state: State, work: Work, at: str) -> None:
    """The organizations of the network's members at time `at`: the independent monitors."""
    network = state.networks.get(work.network_id)
    if network is None:
        return
    for member in network.members.values():
        if member.joined_at > at or (member.left_at is not None and member.left_at <= at):
            continue
        parties.add("independentMonitor", name=member.organization,
                    organization_id=getattr(member, "organization_id", None))


def suppliers(parties: Parties, award: dict | None) -> list[Party]:
    """The awarded supplier and, for a consortium, each of its members. The award names the
    supplier as `{name, tax_id}`, or by name with `supplier_id` and `tax_id` beside it, and
    the consortium by `consortium_ids` (organization records) or by names."""
    if not award:
        return []
    found: list[Party] = []

    def add(party: Party | None) -> None:
        if party is not None and party not in found:
            found.append(party)

    supplier = award.get("supplier")
    if isinstance(supplier, dict):
        add(parties.add("supplier", name=supplier.get("name"), tax_id=supplier.get("tax_id"),
                        organization_id=supplier.get("organization_id")))
    elif isinstance(supplier, str):
        add(parties.add("supplier", name=supplier, tax_id=award.get("tax_id"),
                        organization_id=award.get("supplier_id")))
    ids = [i for i in award.get("consortium_ids") or [] if isinstance(i, int)]
    for organization_id in ids:
        add(parties.add("supplier", organization_id=organization_id))
    if not ids:
        for item in award.get("consortium") or []:
            if isinstance(item, dict):
                add(parties.add("supplier", name=item.get("name"), tax_id=item.get("tax_id")))
            elif isinstance(item, str):
                add(parties.add("supplier", name=item))
    return found
