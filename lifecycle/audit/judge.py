"""Judge one log entry against the state just before it, with the live service's own
permission and decision code (lifecycle.decide): the refusals the service would have raised.
Replay and `audit check` call it on every entry of every type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lifecycle import decide, execution, work_details
from lifecycle.evidence import signature_audit
from lifecycle.decide import Refusal
from lifecycle.model import State, UserInfo


@dataclass(frozen=True)
class _System:
    id: str = "system"
    role: str = "system"
    organization_id: None = None


SYSTEM = _System()


def who(state: State, actor: dict) -> tuple[object | None, list[Refusal]]:
    """The person an entry names as its actor, as the log registered them."""
    if actor.get("id") == "system" and actor.get("role") == "system":
        return SYSTEM, []
    user = state.users.get(actor.get("id")) if type(actor.get("id")) is int else None
    if user is None:
        return None, [Refusal("permission", f"user {actor.get('id')!r} was never registered",
                              "forbidden")]
    if user.role != actor.get("role"):
        return None, [Refusal("permission", f"{user.username} is {user.role}, the entry says "
                                            f"{actor.get('role')}", "forbidden")]
    return user, []


def _organization_registered(state, person, data, at):
    tax_id = data.get("tax_id")
    same = next((o for o in state.organizations.values() if tax_id and o.tax_id == tax_id), None)
    refusals = []
    if data.get("organization_id") in state.organizations:
        refusals.append(Refusal("organization", f"organization {data.get('organization_id')} "
                                                "is registered twice"))
    also = ("official",) if data.get("kind") == "company" else ()
    return refusals + decide.organization(
        person, data.get("kind"), tax_id, data.get("sector"), same,
        [state.organizations.get(i) for i in data.get("consortium_members", [])], also)


def _organization_updated(state, person, data, at):
    organization = state.organizations.get(data.get("organization_id"))
    if organization is None:
        return []  # the reducer refuses it
    changes = data.get("changes") or {}
    tax_id = changes.get("tax_id", organization.tax_id)
    same = next((o for o in state.organizations.values()
                 if tax_id and o.tax_id == tax_id and o.id != organization.id), None)
    members = changes.get("consortium_members", organization.consortium_members)
    return decide.organization(person, organization.kind, tax_id, organization.sector, same,
                               [state.organizations.get(i) for i in members])


def _user_registered(state, person, data, at):
    refusals = []
    if data.get("user_id") in state.users:
        refusals.append(Refusal("user", f"user {data.get('user_id')} is registered twice"))
    if any(u.username == data.get("username") for u in state.users.values()):
        refusals.append(Refusal("username", f"username {data.get('username')!r} is taken"))
    org_id = data.get("organization_id")
    organization = state.organizations.get(org_id)
    same_person = [u for u in state.users.values()
                   if data.get("person_id") and u.person_id == data.get("person_id")]
    reviewing = decide.networks_reviewed_by(list(state.networks.values()), organization,
                                            same_person) if data.get("role") == "official" \
        else []
    return refusals + decide.user(person, data.get("role"), organization, org_id, reviewing)


def _network_created(state, person, data, at):
    taken = {r: n.name for n in state.networks.values() for r in (n.regions or [n.region])}
    return decide.network(person, list(data.get("regions") or [data.get("region")]), taken)


def _policy_set(state, person, data, at):
    network = state.networks.get(data.get("network_id"))
    refusals = decide.policy(person, data.get("policy", {}))
    if network is not None and data.get("version") != network.policy.version + 1:
        refusals.append(Refusal("policy", f"version {data.get('version')} does not follow "
                                          f"{network.policy.version}"))
    return refusals


def _member_joined(state, person, data, at):
    network = state.networks.get(data.get("network_id"))
    if network is None:
        return []  # the reducer refuses it
    user = state.users.get(data.get("user_id"))
    organization = state.organizations.get(data.get("organization_id"))
    same_person = [u for u in state.users.values()
                   if user is not None and user.person_id and u.person_id == user.person_id]
    official_nets = []
    for other in same_person:
        if other.role == "official":
            official_nets += decide.official_networks(
                list(state.networks.values()), state.organizations.get(other.organization_id))
    refusals = decide.member_joins(person, network, user, organization, same_person,
                                   official_nets)
    if organization is not None and data.get("sector") != organization.sector:
        refusals.append(Refusal("sector", f"{organization.name} is of the sector "
                                          f"{organization.sector}", "invalid", "sector"))
    return refusals


def _member_left(state, person, data, at):
    network = state.networks.get(data.get("network_id"))
    return decide.member_leaves(person, network, data.get("user_id")) if network else []


def _work_registered(state, person, data, at):
    entity = state.organizations.get(data.get("entity_id"))
    region_network = decide.network_of_region(list(state.networks.values()), data.get("region"))
    return decide.work_registered(person, entity, data.get("entity_id"), region_network,
                                  data.get("network_id"), data.get("region"))


IMPORTABLE_STAGES = ("technical_file", "tender", "award", "execution")


def _work_imported(state, person, data, at):
    """A SEACE import (lifecycle/opendata/seace.py): by an admin or the system, never the same
    source process twice; a new work takes its region's network, an unused code and a public
    entity with a RUC, at a stage SEACE can show; from the award on its supplier is a company
    known by its RUC; a linked entry names an existing work by its code."""
    refusals = decide._role(person, "admin")
    ocid = data.get("source_ocid")
    if not ocid or any(w.source_ocid == ocid for w in state.works.values()):
        refusals.append(Refusal("source_ocid", f"{ocid} was imported before"))
    if data.get("linked"):
        work = state.works.get(data.get("work_id"))
        if work is None or work.code != data.get("code"):
            refusals.append(Refusal("work_id", "a linked import names an existing work by its "
                                               "code", "invalid", "work_id"))
        return refusals
    if any(w.code == data.get("code") for w in state.works.values()):
        refusals.append(Refusal("code", f"a work with code {data.get('code')!r} exists"))
    entity = state.organizations.get(data.get("entity_id"))
    if entity is None or entity.kind != "public_entity" or not entity.tax_id:
        refusals.append(Refusal("entity_id", "must be a public entity with its RUC", "invalid",
                                "entity_id"))
    region_network = decide.network_of_region(list(state.networks.values()), data.get("region"))
    if region_network is None or region_network.id != data.get("network_id"):
        refusals.append(Refusal("network_id", "a work is overseen by its region's network",
                                "invalid", "network_id"))
    if data.get("stage") not in IMPORTABLE_STAGES:
        refusals.append(Refusal("stage", f"{data.get('stage')!r} is not a stage an import "
                                         "starts at", "invalid", "stage"))
    award = data.get("award")
    if data.get("stage") in ("award", "execution"):
        supplier = state.organizations.get((award or {}).get("supplier_id"))
        if supplier is None or supplier.kind != "company" or not supplier.tax_id:
            refusals.append(Refusal("award", "from the award on, the supplier is a company "
                                             "known by its RUC", "invalid", "award"))
    return refusals


def _on_work(check: Callable) -> Callable:
    def judge(state, person, data, at):
        work = state.works.get(data.get("work_id"))
        if work is None:
            return []  # the reducer refuses it
        network = state.networks.get(work.network_id)
        return check(person, work, network, data, at)
    return judge


JUDGES: dict[str, Callable] = {
    "organization.registered": _organization_registered,
    "organization.updated": _organization_updated,
    "user.registered": _user_registered,
    "network.created": _network_created,
    "policy.set": _policy_set,
    "member.joined": _member_joined,
    "member.left": _member_left,
    "work.registered": _work_registered,
    "work.imported": _work_imported,
    "work.corrected": _on_work(lambda p, w, n, d, at: work_details.correction(
        p, w, d.get("changes") or {}, d.get("reason", ""))),
    "document.attached": _on_work(lambda p, w, n, d, at: decide.document(p, w)),
    "observation.filed": _on_work(lambda p, w, n, d, at: decide.observation_filed(p, n, w)),
    "observation.answered": _on_work(
        lambda p, w, n, d, at: decide.observation_answered(p, w, d.get("observation_id"))),
    "observation.accepted": _on_work(
        lambda p, w, n, d, at: decide.observation_verdict(p, w, d.get("observation_id"))),
    "observation.rejected": _on_work(
        lambda p, w, n, d, at: decide.observation_verdict(p, w, d.get("observation_id"))),
    "conflict.declared": _on_work(lambda p, w, n, d, at: decide.conflict(p, n, w)),
    "proposal.opened": _on_work(
        lambda p, w, n, d, at: decide.proposal_opened(p, w, d.get("trigger"))),
    "proposal.withdrawn": _on_work(
        lambda p, w, n, d, at: decide.proposal_withdrawn(p, w, d.get("proposal_id"))),
    "signoff.recorded": _on_work(lambda p, w, n, d, at: decide.signoff(
        p, n, w, d.get("proposal_id"), d.get("decision"), d.get("reason", ""))),
    "block.overruled": _on_work(lambda p, w, n, d, at: decide.overrule(
        p, n, w, d.get("proposal_id"), d.get("user_id"), d.get("reason", ""), at)),
    "transition.refused": _on_work(
        lambda p, w, n, d, at: decide.apply_allowed(p, w, d.get("proposal_id"))),
    # Execution under oversight (wave 2): the same rules as the service's, at the entry's time.
    "valuation.reported": _on_work(lambda p, w, n, d, at: decide.valuation_reported(
        p, w, execution.ValuationInput.from_data(d), at)),
    "milestone.recorded": _on_work(lambda p, w, n, d, at: decide.milestone_recorded(
        p, w, execution.MilestoneInput.from_data(d), at)),
    "deadline.reached": _on_work(lambda p, w, n, d, at: decide.deadline_reached(
        p, w, n, d.get("code"), d.get("due"), at)),
}


# Members' keys and signed sign-offs (DESIGN §4.3): lifecycle.evidence.signature_audit.
JUDGES.update(signature_audit.replay_judges(JUDGES["signoff.recorded"]))


def judge(state: State, entry: dict, at) -> list[Refusal]:
    """The refusals the live service would have raised for this entry (transition.applied is
    judged by the replayer, which also re-runs the guards)."""
    check = JUDGES.get(entry.get("type"))
    if check is None:
        return []
    person, refusals = who(state, entry.get("actor") or {})
    if person is None:
        return refusals
    try:
        return check(state, person, entry.get("data") or {}, at)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [Refusal("data", f"cannot be judged: {exc!r}")]


__all__ = ["JUDGES", "SYSTEM", "UserInfo", "judge", "who"]
