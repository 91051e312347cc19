"""Administration commands (admin): organizations, networks, their policies and members.

A mixin of lifecycle.service.Lifecycle; each command is one write transaction that validates,
loads, asks lifecycle.decide, and appends (DESIGN §1)."""

from __future__ import annotations

from sqlalchemy import select

from lifecycle import projection

import lifecycle.service as svc
from lifecycle import decide
from lifecycle import validation as check
from lifecycle.db import OrganizationRow
from lifecycle.errors import Invalid, NotFound
from lifecycle.model import ORGANIZATION_KINDS, Network, Organization
from lifecycle.organizations import normalize_name
from lifecycle.reducer import UPDATABLE_ORGANIZATION_FIELDS


class AdminCommands:
    # ------------------------------------------------------------------ organizations
    def create_organization(self, *, actor: svc.Actor, name: str, kind: str, sector: str,
                            tax_id: str | None = None, region: str | None = None,
                            consortium_members: list[int] | None = None) -> Organization:
        """Register an organization (admin). Its RUC, when it has one, is unique."""
        name = check.text("name", name)
        kind = check.choice("kind", kind, ORGANIZATION_KINDS)
        sector = check.sector(sector)
        tax_id = check.ruc("tax_id", tax_id) if tax_id not in (None, "") else None
        region = check.optional_text("region", region, max_len=100)
        members = svc._id_list("consortium_members", consortium_members)
        with self._write() as tx:
            return self._register_organization(tx, actor, name=name, kind=kind, sector=sector,
                                               tax_id=tax_id, region=region, members=members)

    def _register_organization(self, tx: svc._Tx, actor: svc.Actor, *, name: str, kind: str,
                               sector: str, tax_id: str | None, region: str | None,
                               members: list[int], also: tuple[str, ...] = ()
                               ) -> Organization:
        svc.refuse(decide.organization(actor, kind, tax_id, sector,
                                       tx.organization_by_tax_id(tax_id),
                                       [tx.organization(i) for i in members], also))
        organization_id = self._next_id(tx, svc._ORGS)
        data = {"organization_id": organization_id, "name": name, "kind": kind,
                "sector": sector}
        if tax_id:
            data["tax_id"] = tax_id
        if region:
            data["region"] = region
        if members:
            data["consortium_members"] = members
        tx.emit("organization.registered", actor, data)
        return tx.state.organizations[organization_id]

    def update_organization(self, *, actor: svc.Actor, organization_id: int, **fields
                            ) -> Organization:
        """Change an organization's name, RUC, region or consortium members (admin). Kind and
        sector never change: members took their sector from it."""
        changes = {}
        for key, value in fields.items():
            if value is None:
                continue
            if key not in UPDATABLE_ORGANIZATION_FIELDS:
                raise Invalid(key, "cannot change")
            if key == "name":
                value = check.text("name", value)
            elif key == "tax_id":
                value = check.ruc("tax_id", value)
            elif key == "region":
                value = check.text("region", value, max_len=100)
            else:
                value = svc._id_list(key, value)
            changes[key] = value
        if not changes:
            raise Invalid("body", "nothing to change")
        with self._write() as tx:
            organization = tx.organization(organization_id)
            if organization is None:
                raise NotFound(f"organization {organization_id} not found")
            same = tx.organization_by_tax_id(changes.get("tax_id"))
            svc.refuse(decide.organization(
                actor, organization.kind, changes.get("tax_id", organization.tax_id),
                organization.sector, same if same is not None and same.id != organization_id
                else None, [tx.organization(i) for i in changes.get(
                    "consortium_members", organization.consortium_members)]))
            tx.emit("organization.updated", actor,
                    {"organization_id": organization_id, "changes": changes})
            return organization

    def get_organization(self, organization_id: int) -> Organization:
        return projection.organization(self._state_text("organization", organization_id))

    def list_organizations(self, query: str | None = None, limit: int = 100
                           ) -> list[Organization]:
        """Organizations whose normalized name contains the normalized query, or whose RUC is
        the query."""
        statement = select(OrganizationRow).order_by(OrganizationRow.id)
        if query:
            query = check.text("q", query, max_len=200)
            key = normalize_name(query)
            statement = statement.where(OrganizationRow.name_key.contains(key, autoescape=True)
                                        | (OrganizationRow.tax_id == query))
        with self._read() as session:
            rows = session.execute(statement.limit(limit)).scalars()
            return [projection.organization(r.state) for r in rows]

    def likely_duplicates(self, name: str) -> list[Organization]:
        """Organizations whose normalized name equals this one's: a warning, never a rule."""
        with self._read() as session:
            rows = session.execute(select(OrganizationRow).where(
                OrganizationRow.name_key == normalize_name(name))).scalars()
            return [projection.organization(r.state) for r in rows]

    # ------------------------------------------------------------------ networks
    def create_network(self, *, actor: svc.Actor, name: str, regions: list[str] | None = None,
                       region: str | None = None) -> Network:
        """A network covering one or more regions (`region` alone: the form before wave 2)."""
        svc._require(actor, "admin")
        name = check.text("name", name)
        if regions is None:
            regions = [region] if region is not None else []
        if not isinstance(regions, list):
            raise Invalid("regions", "must be a list of regions")
        regions = list(dict.fromkeys(check.text("regions", r, max_len=100) for r in regions))
        with self._write() as tx:
            taken = {r: n.name for n in tx.all_networks() for r in (n.regions or [n.region])}
            svc.refuse(decide.network(actor, regions, taken))
            network_id = self._next_id(tx, svc._NETWORKS)
            tx.emit("network.created", actor, {"network_id": network_id, "name": name,
                                               "region": regions[0], "regions": regions})
            return tx.state.networks[network_id]

    def set_policy(self, *, actor: svc.Actor, network_id: int, **fields) -> Network:
        """Replace the network's policy with a new version; omitted fields keep their value.
        No version goes below the floors of DESIGN §3 (422 naming the field)."""
        svc._require(actor, "admin")
        with self._write() as tx:
            network = tx.network(network_id)
            settings = network.policy.settings()
            for key, value in fields.items():
                if value is None:
                    continue
                if key not in settings:
                    raise Invalid(key, "is not a policy field")
                settings[key] = svc._policy_value(key, value)
            svc.refuse(decide.policy(actor, settings))
            tx.emit("policy.set", actor, {"network_id": network_id,
                                          "version": network.policy.version + 1,
                                          "policy": settings})
            return network

    def add_member(self, *, actor: svc.Actor, network_id: int, user_id: int,
                   organization_id: int, constituencies: list[str] | None = None,
                   sector: str | None = None) -> Network:
        """A member joins for their organization and takes its sector (a `sector` given must
        be the organization's)."""
        svc._require(actor, "admin")
        constituencies = check.constituencies(constituencies)
        if sector is not None:
            sector = check.sector(sector)
        with self._write() as tx:
            network = tx.network(network_id)
            person = tx.user(user_id)
            organization = tx.organization(organization_id)
            if organization is not None and sector is not None and sector != organization.sector:
                raise Invalid("sector", f"{organization.name} is of the sector "
                                        f"{organization.sector}")
            same_person = tx.users_of_person(person.person_id if person else None)
            official_nets = []
            for other in same_person:
                if other.role == "official":
                    official_nets += decide.official_networks(
                        tx.all_networks(), tx.organization(other.organization_id))
            svc.refuse(decide.member_joins(actor, network, person, organization, same_person,
                                       official_nets))
            data = {"network_id": network_id, "user_id": user_id, "username": person.username,
                    "organization_id": organization.id, "organization": organization.name,
                    "sector": organization.sector, "constituencies": constituencies}
            if person.person_id:
                data["person_id"] = person.person_id
            tx.emit("member.joined", actor, data)
            return network

    def remove_member(self, *, actor: svc.Actor, network_id: int, user_id: int) -> Network:
        svc._require(actor, "admin")
        with self._write() as tx:
            network = tx.network(network_id)
            svc.refuse(decide.member_leaves(actor, network, user_id))
            tx.emit("member.left", actor, {"network_id": network_id, "user_id": user_id})
            return network
