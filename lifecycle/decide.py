"""Pure decisions (DESIGN §1): given the state a command sees, the person acting and the time,
is the command allowed? Each function returns the refusals (empty when allowed). The live
service raises the first one as an error; the offline replay (lifecycle.audit.replay) calls the
same functions on every entry and reports them, so an entry the service would have refused is
never legal in a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lifecycle import execution
from lifecycle import permissions as may
from lifecycle.guards import GuardState, approval_tally, evaluate, failures, required_approvals
from lifecycle.guards.policy import below_floors, stricter
from lifecycle.guards.rules import standing_blocks
from lifecycle.model import Network, Organization, Proposal, UserInfo, Work
from lifecycle.states import FINAL_STAGES, destination, spec_for
from lifecycle.validation import ruc_is_valid

MAX_SIGNOFFS_PER_MEMBER = 20  # per proposal: bounds the history a member can grow
OVERRULE_EXTRA_APPROVALS = 2
KINDS_WITH_TAX_ID = ("public_entity", "company")


@dataclass(frozen=True)
class Refusal:
    """Why a command is not allowed: the rule, its message, and how the API answers it
    (forbidden 403, not_found 404, conflict 409, invalid 422)."""

    rule: str
    message: str
    kind: str = "conflict"
    field: str | None = None


def _forbidden(rule: str, message: str) -> list[Refusal]:
    return [Refusal(rule, message, "forbidden")]


def _conflict(rule: str, message: str) -> list[Refusal]:
    return [Refusal(rule, message, "conflict")]


def _invalid(field: str, message: str) -> list[Refusal]:
    return [Refusal(field, message, "invalid", field)]


def _role(who: may.Person, *roles: str) -> list[Refusal]:
    if may.has_role(who, *roles):
        return []
    return _forbidden("permission", f"this needs the role {' or '.join(roles)}; "
                                    f"you are {who.role}")


# ---------------------------------------------------------------- organizations and people
def organization(who: may.Person, kind: str, tax_id: str | None, sector: str,
                 same_tax_id: Organization | None, consortium: list[Organization | None],
                 also: tuple[str, ...] = ()) -> list[Refusal]:
    """An organization: registered by an admin (or, for a supplier found by its RUC in an
    award, by the official: `also`); public entities and companies carry a valid RUC, unique
    among organizations; a public entity is of the government sector; a consortium lists
    registered companies."""
    refusals = _role(who, "admin", *also)
    if tax_id is None and kind in KINDS_WITH_TAX_ID:
        refusals += _invalid("tax_id", f"a {kind} needs its RUC")
    if tax_id is not None and not ruc_is_valid(tax_id):
        refusals += _invalid("tax_id", "is not a valid RUC (11 digits with a valid check digit)")
    if tax_id is not None and same_tax_id is not None:
        refusals += _conflict("tax_id", f"RUC {tax_id} is already registered as organization "
                                        f"{same_tax_id.id} ({same_tax_id.name})")
    if kind == "public_entity" and sector != "government":
        refusals += _invalid("sector", "a public entity is of the government sector")
    if kind != "consortium" and consortium:
        refusals += _invalid("consortium_members", "only a consortium lists members")
    for member in consortium:
        if member is None or member.kind != "company":
            refusals += _invalid("consortium_members", "each must be a registered company")
            break
    return refusals


def user(who: may.Person, role: str, organization_: Organization | None,
         organization_id: int | None, reviewing: list[Network] = ()) -> list[Refusal]:
    """A user: created by an admin; an official acts for a registered public entity, and is
    never the same person as a member of a network that oversees that entity (`reviewing`:
    those networks where the person already holds a member account)."""
    refusals = _role(who, "admin")
    if role == "official" and reviewing:
        refusals += _conflict("person_id", "this person is a member of "
                                           f"{reviewing[0].name}, which oversees this entity")
    if role == "official":
        if organization_id is None:
            refusals += _invalid("organization_id", "an official acts for a public entity")
        elif organization_ is None:
            refusals += _invalid("organization_id", f"organization {organization_id} "
                                                    "is not registered")
        elif organization_.kind != "public_entity":
            refusals += _invalid("organization_id", "an official acts for a public entity, "
                                                    f"not a {organization_.kind}")
    elif organization_id is not None and organization_ is None:
        refusals += _invalid("organization_id", f"organization {organization_id} is not "
                                                "registered")
    return refusals


def network(who: may.Person, regions: list[str], taken: dict[str, str]) -> list[Refusal]:
    """A network covers one or more regions, each overseen by one network only."""
    refusals = _role(who, "admin")
    if not regions:
        refusals += _invalid("regions", "a network covers at least one region")
    for region in regions:
        if region in taken:
            refusals += _conflict("regions", f"{region} is already overseen by {taken[region]}")
    return refusals


def policy(who: may.Person, settings: dict) -> list[Refusal]:
    """A policy version: set by an admin, never below the floors (DESIGN §3)."""
    refusals = _role(who, "admin")
    for floor in below_floors(settings):
        refusals += _invalid(floor.field, floor.message)
    return refusals


def member_joins(who: may.Person, net: Network, person: UserInfo | None,
                 organization_: Organization | None, same_person: list[UserInfo],
                 networks_of_officials: list[Network]) -> list[Refusal]:
    """A member joins: an admin adds a user with the role member, of a registered organization;
    a person (DNI) holds at most one member account per network and is never both an official
    and a member of the same network."""
    refusals = _role(who, "admin")
    if person is None:
        return refusals + [Refusal("user_id", "the user is not registered", "not_found")]
    if person.role != "member":
        refusals += _invalid("user_id", f"user {person.username} has the role {person.role}, "
                                        "not member")
    if organization_ is None:
        refusals += _invalid("organization_id", "is not a registered organization")
    if net.active_member(person.id):
        refusals += _conflict("member", f"{person.username} is already a member of this network")
    for other in same_person:
        if other.id != person.id and other.role == "member" and net.active_member(other.id):
            refusals += _conflict("person_id", f"person {person.person_id} already holds the "
                                               f"member account {other.username} here")
    if any(n.id == net.id for n in networks_of_officials):
        refusals += _conflict("person_id", f"person {person.person_id} is an official of an "
                                           "entity this network oversees")
    return refusals


def member_leaves(who: may.Person, net: Network, user_id: int) -> list[Refusal]:
    refusals = _role(who, "admin")
    if not net.active_member(user_id):
        refusals.append(Refusal("member", f"user {user_id} is not a member of network "
                                          f"{net.id}", "not_found"))
    return refusals


def networks_reviewed_by(networks: list[Network], entity: Organization | None,
                         same_person: list[UserInfo]) -> list[Network]:
    """Networks overseeing the entity in which the person holds an active member account."""
    accounts = [u.id for u in same_person if u.role == "member"]
    return [n for n in official_networks(networks, entity)
            if any(n.active_member(a) for a in accounts)]


def official_networks(networks: list[Network], entity: Organization | None) -> list[Network]:
    """The networks that oversee an entity: those covering its region."""
    if entity is None or entity.region is None:
        return []
    return [n for n in networks if entity.region in (n.regions or [n.region])]


def network_of_region(networks: list[Network], region: str) -> Network | None:
    """The work's network is its region's network, never one the official picks."""
    for candidate in networks:
        if region in (candidate.regions or [candidate.region]):
            return candidate
    return None


# ---------------------------------------------------------------- works
def work_registered(who: may.Person, entity: Organization | None, entity_id: int | None,
                    region_network: Network | None, network_id: int, region: str
                    ) -> list[Refusal]:
    """An official registers a work of their own entity; it is overseen by its region's
    network."""
    refusals = _role(who, "official")
    if entity is None or entity.kind != "public_entity":
        refusals += _invalid("entity_id", "must be a registered public entity")
    elif not may.acts_for(who, entity_id):
        refusals += _forbidden("permission", f"you do not act for {entity.name}")
    if region_network is None:
        refusals += _invalid("region", f"no network oversees {region}")
    elif region_network.id != network_id:
        refusals += _invalid("network_id", f"works of {region} are overseen by network "
                                           f"{region_network.id} ({region_network.name})")
    return refusals


def acts_on_work(who: may.Person, work: Work) -> list[Refusal]:
    refusals = _role(who, "official")
    if not refusals and not may.is_official_of(who, work):
        refusals = _forbidden("permission", f"work {work.code} belongs to {work.entity}; "
                                            "you do not act for it")
    return refusals


def reviews_work(who: may.Person, net: Network, work: Work) -> list[Refusal]:
    refusals = _role(who, "member")
    if not refusals and not may.is_active_member(who, net):
        refusals = _forbidden("permission", f"you are not a member of the network {net.name} "
                                            f"that oversees work {work.code}")
    return refusals


def _not_final(work: Work) -> list[Refusal]:
    if work.stage in FINAL_STAGES:
        return _conflict("stage", f"work {work.code} is {work.stage}")
    return []


def document(who: may.Person, work: Work) -> list[Refusal]:
    """An official of the work's entity attaches documents until the work is final."""
    return acts_on_work(who, work) or _not_final(work)


def observation_filed(who: may.Person, net: Network, work: Work) -> list[Refusal]:
    """Members of the overseeing network file observations until the work is final."""
    return reviews_work(who, net, work) or _not_final(work)


def observation_answered(who: may.Person, work: Work, observation_id: int) -> list[Refusal]:
    """An official answers an observation that has no answer standing: unanswered, or whose
    answer its author rejected."""
    refusals = acts_on_work(who, work)
    observation = work.observation(observation_id)
    if observation is None:
        return refusals + [Refusal("observation", f"observation {observation_id} of work "
                                                  f"{work.code} not found", "not_found")]
    if observation.answer is not None and observation.accepted is not False:
        refusals += _conflict("observation", f"observation {observation_id} is already "
                                             "answered")
    return refusals


def observation_verdict(who: may.Person, work: Work, observation_id: int) -> list[Refusal]:
    """Only the observation's author accepts or rejects its answer, once per answer."""
    observation = work.observation(observation_id)
    if observation is None:
        return [Refusal("observation", f"observation {observation_id} of work {work.code} "
                                       "not found", "not_found")]
    if not may.is_author_of(who, observation):
        return _forbidden("permission", "only the observation's author accepts or rejects "
                                        "its answer")
    if observation.answer is None:
        return _conflict("observation", f"observation {observation_id} has no answer yet")
    if observation.accepted is not None:
        return _conflict("observation", f"the answer to observation {observation_id} was "
                                        "already " + ("accepted" if observation.accepted
                                                      else "rejected"))
    return []


def conflict(who: may.Person, net: Network, work: Work) -> list[Refusal]:
    """A member declares a conflict of interest on a work once."""
    refusals = reviews_work(who, net, work)
    if not refusals and work.conflicted(who.id):
        refusals = _conflict("conflict", "you have already declared a conflict of interest "
                                         "on this work")
    return refusals


# ---------------------------------------------------------------- proposals
def proposal_opened(who: may.Person, work: Work, trigger: str) -> list[Refusal]:
    """An official of the entity opens one proposal at a time, for a trigger legal now."""
    refusals = acts_on_work(who, work)
    if refusals:
        return refusals
    if work.open_proposal is not None:
        return _conflict("proposal", f"work {work.code} already has an open proposal "
                                     f"(#{work.open_proposal.id})")
    origin = (work.suspended_from or {}).get("stage")
    if destination(work.stage, trigger, origin) is None:
        return [Refusal("stage", f"{trigger} is not allowed from stage {work.stage}",
                        "refused")]
    return []


def _open(work: Work, proposal_id) -> tuple[Proposal | None, list[Refusal]]:
    proposal = work.proposal(proposal_id) if type(proposal_id) is int else None
    if proposal is None:
        return None, [Refusal("proposal", f"proposal {proposal_id} of work {work.code} not "
                                          "found", "not_found")]
    if proposal.status != "open":
        return proposal, _conflict("proposal", f"proposal {proposal_id} is no longer open "
                                               f"({proposal.status})")
    return proposal, []


def proposal_withdrawn(who: may.Person, work: Work, proposal_id: int) -> list[Refusal]:
    refusals = acts_on_work(who, work)
    return refusals or _open(work, proposal_id)[1]


def signoff(who: may.Person, net: Network, work: Work, proposal_id: int, decision: str,
            reason: str) -> list[Refusal]:
    """A current member signs off an open proposal that needs it; never its proposer; a block
    states its reason; at most MAX_SIGNOFFS_PER_MEMBER sign-offs per member and proposal."""
    refusals = reviews_work(who, net, work)
    if refusals:
        return refusals
    proposal, refusals = _open(work, proposal_id)
    if refusals:
        return refusals
    if not may.may_sign_off(who, proposal):
        return _forbidden("separation_of_duties", "you opened this proposal; you cannot sign "
                                                  "it off")
    spec = spec_for(proposal.trigger)
    if spec is not None and not spec.signoff:
        return _conflict("signoff", f"{proposal.trigger} needs no sign-off")
    if decision == "block" and not reason.strip():
        return _invalid("reason", "a block states its reason")
    if proposal.signoffs_by(who.id) >= MAX_SIGNOFFS_PER_MEMBER:
        return _conflict("signoff", f"at most {MAX_SIGNOFFS_PER_MEMBER} sign-offs per member "
                                    "on one proposal")
    return []


def overrule(who: may.Person, net: Network, work: Work, proposal_id: int, user_id: int,
             reason: str, at: datetime) -> list[Refusal]:
    """A departed member's block is lifted only by an overrule: an official of the entity,
    a written reason, and the quorum plus two counted approvals (DESIGN §3)."""
    refusals = acts_on_work(who, work)
    if refusals:
        return refusals
    proposal, refusals = _open(work, proposal_id)
    if refusals:
        return refusals
    if not reason.strip():
        return _invalid("reason", "an overrule states its reason")
    if not any(s.user_id == user_id for s in standing_blocks(proposal)):
        return _conflict("block", f"user {user_id} has no standing block on this proposal")
    author = net.member(user_id)
    if author is not None and author.active:
        return _conflict("block", "the block's author is still a member: only they lift it")
    state = GuardState(work, net)
    judging = stricter(proposal.policy, net.policy)
    needed = required_approvals(state, proposal, judging) + OVERRULE_EXTRA_APPROVALS
    counted = sum(1 for t in approval_tally(state, proposal) if t.excluded is None)
    if counted < needed:
        return _conflict("quorum", f"an overrule needs {needed} counted approvals; "
                                   f"{counted} so far")
    return []


def apply_allowed(who: may.Person, work: Work, proposal_id: int) -> list[Refusal]:
    """An official of the entity applies an open proposal (the guards then decide)."""
    refusals = acts_on_work(who, work)
    return refusals or _open(work, proposal_id)[1]


def transition(work: Work, net: Network, proposal: Proposal, at: datetime, guards=evaluate):
    """The guards' verdicts and, when every one holds, where the work goes."""
    results = guards(GuardState(work, net), proposal, net.policy, at)
    if failures(results):
        return results, None
    origin = (work.suspended_from or {}).get("stage")
    return results, destination(work.stage, proposal.trigger, origin)


# ---------------------------------------------------------------- execution (DESIGN §2, wave 2)
# The rules are lifecycle.execution's; these say who may act and turn breaches into refusals.
def _shape_first(shape: list[execution.Breach], rules: list[execution.Breach]
                 ) -> list[Refusal]:
    if shape:
        return [Refusal(b.field or b.rule, b.message, "invalid", b.field) for b in shape]
    return [Refusal(b.field or b.rule, b.message, "conflict", b.field) for b in rules]


def valuation_reported(who: may.Person, work: Work, valuation: execution.ValuationInput,
                       at: datetime) -> list[Refusal]:
    """An official of the work's entity reports a valuation that keeps every valuation rule
    (lifecycle.execution.valuation_breaches)."""
    refusals = acts_on_work(who, work)
    if refusals:
        return refusals
    return _shape_first(execution.valuation_shape(valuation),
                        execution.valuation_breaches(work, valuation, at))


def milestone_recorded(who: may.Person, work: Work, milestone: execution.MilestoneInput,
                       at: datetime) -> list[Refusal]:
    """An official of the work's entity records a tender milestone in its stage."""
    refusals = acts_on_work(who, work)
    if refusals:
        return refusals
    return _shape_first(execution.milestone_shape(milestone),
                        execution.milestone_breaches(work, milestone, at))


def amendment_opened(work: Work, amendment: execution.AmendmentInput | None) -> list[Refusal]:
    """An amend proposal states its terms: {kind, amount?, days?} (DESIGN §2)."""
    if amendment is None:
        return _invalid("amendment", "an amend proposal needs {kind, amount?, days?}")
    return _shape_first(execution.amendment_shape(amendment),
                        execution.amendment_breaches(work, amendment))


def deadline_reached(who: may.Person, work: Work, net: Network, code: str, due: str,
                     at: datetime) -> list[Refusal]:
    """Only the system records a deadline, and only one that was due at its time and not
    recorded before (lifecycle.deadlines.due_deadlines)."""
    from lifecycle.deadlines import due_deadlines

    if not may.records_time(who):
        return _forbidden("permission", "only the system records that a deadline passed")
    if not any(d.code == code and d.due == due for d in due_deadlines(work, net.policy, at)):
        return _conflict("deadline", f"{code} (due {due}) was not due at {at.isoformat()} or "
                                     "was already recorded")
    return []
