"""People."""

from app.deps import IdentityDep, PageDep, ReadSessionDep
from app.problems import AUTHENTICATED, responses
from app.routers.lists import listed
from app.routers.params import IdFilter, ProposalFilter
from app.routers.routing import Router
from relational import persons
from schemas.common import Paged
from schemas.persons import Person

router = Router(prefix="/persons", tags=["Persons"], responses=responses(*AUTHENTICATED))


@router.get("", response_model=Paged[Person])
async def get_persons(
    identity: IdentityDep,
    db: ReadSessionDep,
    page: PageDep,
    proposal: ProposalFilter = None,
    sessionId: IdFilter = None,
    showAll: bool = False,
) -> dict[str, object]:
    """People with a login on the proposals and sessions you reach; ``showAll`` lists everyone for a holder of
    `manage_persons` (py-ispyb's rule) and is ignored otherwise."""
    show_all = showAll and "manage_persons" in identity.permissions
    total, rows = await persons.get_persons(
        db, identity.scope, page, proposal=proposal, sessionId=sessionId, show_all=show_all
    )
    return listed(rows, total, page)
