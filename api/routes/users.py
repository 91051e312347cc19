"""Users: an admin creates them and receives their API token once."""

from fastapi import APIRouter

from api.deps import AdminUser, CurrentUser, LifecycleDep
from api.schemas import UserCreated, UserIn, UserOut, problems

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201, response_model=UserCreated, responses=problems(403, 409))
def create_user(body: UserIn, actor: AdminUser, lc: LifecycleDep):
    """Create a user (admin). The API token is in this response only; it is stored as its
    SHA-256 and cannot be shown again."""
    user, token = lc.create_user(actor=actor, username=body.username, role=body.role,
                                 organization_id=body.organization_id,
                                 person_id=body.person_id, password=body.password,
                                 email=body.email)
    return UserCreated(id=user.id, username=user.username, role=user.role, entity=user.entity,
                       organization_id=user.organization_id, token=token)


@router.get("/me", response_model=UserOut)
def who_am_i(actor: CurrentUser):
    """The user the token belongs to."""
    return UserOut(id=actor.id, username=actor.username, role=actor.role, entity=actor.entity,
                   organization_id=actor.organization_id)
