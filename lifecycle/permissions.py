"""Who may act (DESIGN §1): one small named predicate per rule, shared by the service, the web
pages and the offline replay. Each takes the person acting — anything with `id`, `role` and
`organization_id` (the service's Actor, the log's UserInfo) — and the objects it acts on."""

from __future__ import annotations

from typing import Protocol

from lifecycle.model import Network, Observation, Proposal, Work


class Person(Protocol):
    id: int | str
    role: str
    organization_id: int | None


def is_system(who: Person) -> bool:
    """The system itself (init, demo set-up, time-driven moves) acts without a role check."""
    return who.role == "system" and who.id == "system"


def has_role(who: Person, *roles: str) -> bool:
    return is_system(who) or who.role in roles


def is_admin(who: Person) -> bool:
    """Admins register organizations, users and networks, set policies and members."""
    return has_role(who, "admin")


def acts_for(who: Person, organization_id: int | None) -> bool:
    """An official acts for one public entity: its works only."""
    if is_system(who):
        return True
    return who.role == "official" and who.organization_id is not None and \
        who.organization_id == organization_id


def is_official_of(who: Person, work: Work) -> bool:
    """Documents, answers, proposals and their application are the work's entity's officials'."""
    return acts_for(who, work.entity_id)


def is_active_member(who: Person, network: Network) -> bool:
    """Sign-offs, observations and conflicts are for current members of the overseeing network."""
    if is_system(who):
        return True
    return who.role == "member" and network.active_member(who.id) is not None


def may_sign_off(who: Person, proposal: Proposal) -> bool:
    """Separation of duties: the official who opened a proposal never signs it off."""
    return who.id != proposal.opened_by


def is_author_of(who: Person, observation: Observation) -> bool:
    """Only an observation's author accepts or rejects its answer."""
    return who.id == observation.filed_by


def records_time(who: Person) -> bool:
    """Time-driven moves (deadline.reached) are the system's alone: no person records that a
    deadline passed (DESIGN §4, wave 2)."""
    return is_system(who)
