"""Organizations (DESIGN §3): independence is decided between these records. Admins write;
anyone reads and searches them by normalized name or RUC."""

from typing import Annotated

from fastapi import APIRouter, Path

from api.writer import write
from api.deps import AdminUser, LifecycleDep
from api.schemas import MAX_ID, OrganizationIn, OrganizationOut, OrganizationPatch, problems, \
    text_query
from lifecycle.model import Organization
from lifecycle.service import Lifecycle

router = APIRouter(prefix="/organizations", tags=["organizations"])
OrganizationId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1])]


def _out(lc: Lifecycle, organization: Organization) -> OrganizationOut:
    duplicates = [o.id for o in lc.likely_duplicates(organization.name)
                  if o.id != organization.id]
    return OrganizationOut.model_validate(dict(vars(organization), likely_duplicates=duplicates))


@router.post("", status_code=201, response_model=OrganizationOut,
             responses=problems(403, 409))
async def create_organization(body: OrganizationIn, actor: AdminUser, lc: LifecycleDep):
    """Register an organization (admin). Public entities and companies need a valid RUC,
    unique among organizations; a likely duplicate by name is listed, not refused."""
    organization = await write(
        lc.create_organization, actor=actor, name=body.name, kind=body.kind, sector=body.sector,
        tax_id=body.tax_id, region=body.region, consortium_members=list(body.consortium_members))
    return _out(lc, organization)


@router.patch("/{organization_id}", response_model=OrganizationOut,
              responses=problems(403, 404, 409))
async def update_organization(organization_id: OrganizationId, body: OrganizationPatch,
                              actor: AdminUser, lc: LifecycleDep):
    organization = await write(
        lc.update_organization, actor=actor, organization_id=organization_id,
        **body.model_dump(exclude_none=True))
    return _out(lc, organization)


@router.get("", response_model=list[OrganizationOut])
async def list_organizations(lc: LifecycleDep,
                             q: Annotated[str | None, text_query("Name or RUC.")] = None):
    return [OrganizationOut.model_validate(vars(o)) for o in lc.list_organizations(q)]


@router.get("/{organization_id}", response_model=OrganizationOut, responses=problems(404))
async def get_organization(organization_id: OrganizationId, lc: LifecycleDep):
    return _out(lc, lc.get_organization(organization_id))
