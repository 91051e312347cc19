"""Integrity networks, their members and their policy. Admins write; anyone reads."""

from fastapi import APIRouter

from api.writer import write
from api.deps import AdminUser, LifecycleDep
from api.schemas import (
    MemberIn,
    MemberOut,
    NetworkId,
    NetworkIn,
    NetworkOut,
    PolicyIn,
    PolicyOut,
    UserId,
    problems,
)

router = APIRouter(prefix="/networks", tags=["networks"])


def _member(network, user_id: UserId) -> MemberOut:
    member = network.member(user_id)
    return MemberOut.model_validate(dict(member.__dict__, active=member.active))


@router.get("", response_model=list[NetworkOut])
async def list_networks(lc: LifecycleDep):
    return [NetworkOut.of(n) for n in lc.list_networks()]


@router.post("", status_code=201, response_model=NetworkOut, responses=problems(403))
async def create_network(body: NetworkIn, actor: AdminUser, lc: LifecycleDep):
    return NetworkOut.of(await write(
        lc.create_network, actor=actor, name=body.name, regions=body.regions, region=body.region))


@router.get("/{network_id}", response_model=NetworkOut, responses=problems(404))
async def get_network(network_id: NetworkId, lc: LifecycleDep):
    """The network with its members (current and former) and its policy."""
    return NetworkOut.of(lc.get_network(network_id))


@router.post("/{network_id}/members", status_code=201, response_model=MemberOut,
             responses=problems(403, 404, 409))
async def add_member(network_id: NetworkId, body: MemberIn, actor: AdminUser, lc: LifecycleDep):
    """Add a user with the role member to the network for their organization, whose sector
    the member takes."""
    network = await write(
        lc.add_member, actor=actor, network_id=network_id, user_id=body.user_id,
        organization_id=body.organization_id, constituencies=list(body.constituencies))
    return _member(network, body.user_id)


@router.delete("/{network_id}/members/{user_id}", response_model=MemberOut,
               responses=problems(403, 404))
async def remove_member(network_id: NetworkId, user_id: UserId, actor: AdminUser, lc: LifecycleDep):
    """The member leaves the network; their approvals stop counting."""
    network = await write(lc.remove_member, actor=actor, network_id=network_id, user_id=user_id)
    return _member(network, user_id)


@router.get("/{network_id}/policy", response_model=PolicyOut, responses=problems(404))
async def get_policy(network_id: NetworkId, lc: LifecycleDep):
    return PolicyOut.model_validate(lc.get_network(network_id).policy.__dict__)


@router.put("/{network_id}/policy", response_model=PolicyOut, responses=problems(403, 404))
async def set_policy(network_id: NetworkId, body: PolicyIn, actor: AdminUser, lc: LifecycleDep):
    """Set a new version of the policy; omitted fields keep their current value."""
    network = await write(
        lc.set_policy, actor=actor, network_id=network_id, **body.model_dump(exclude_none=True))
    return PolicyOut.model_validate(network.policy.__dict__)
