"""The user office's sync (py-ispyb's ``/webservices/userportalsync``): a proposal and what hangs off it, upserted
from py-ispyb's ``UserPortalProposalSync`` document."""

from typing import Annotated

from fastapi import Depends, Query, Response

from app.deps import IdentityDep, SchemaDep, StateDep, WriteSessionDep
from app.ignored import report_ignored
from app.problems import AUTHENTICATED, responses
from app.routers.routing import Router
from relational import userportalsync
from schemas.errors import Conflict, Forbidden, InvalidInput
from schemas.userportalsync import SyncReport, UserPortalProposalSync

router = Router(prefix="/webservices/userportalsync", tags=["Webservices"], responses=responses(*AUTHENTICATED))


async def user_office(identity: IdentityDep, state: StateDep) -> None:
    """Only holders of ISPYB_UPORTAL_SYNC_PERMISSION sync; 403 otherwise."""
    permission = state.settings.uportal_sync_permission
    if permission not in identity.permissions:
        raise Forbidden(f"Syncing proposals needs the `{permission}` permission")


@router.post(
    "/sync_proposal",
    response_model=SyncReport,
    dependencies=[Depends(user_office)],
    responses=responses(Forbidden, InvalidInput, Conflict),
)
async def sync_proposal(
    body: UserPortalProposalSync,
    response: Response,
    db: WriteSessionDep,
    schema: SchemaDep,
    dryRun: Annotated[bool, Query(description="Report what would change, write nothing")] = False,
) -> SyncReport:
    """Create or update a proposal from the user office, with its persons and their laboratories, members, lab
    contacts, sessions (and their members' roles) and proteins, in one transaction.

    Rows are matched as py-ispyb does: persons by `login`, then `externalId`; laboratories by `laboratoryExtPk`,
    then name, city and country; the proposal by `externalId`, then code and number; sessions by `externalId`,
    then `expSessionPk`; lab contacts by `cardName` and proteins by `externalId`, then `acronym`, within the
    proposal. On Diamond's schema (no `BLSession.expSessionPk`, no `Laboratory.laboratoryExtPk`) sessions are
    matched by `externalId`, then the proposal and `visit_number`, laboratories by name and city.

    Only columns the document sets are written, and only where they differ: a second identical sync writes
    nothing and says so (`changed: false`). Nothing is deleted, except membership links the optional `prune`
    key names. Any problem (shape, widths, ranges, repeated keys, a new person without a login, a session ending
    before it starts...) answers 422 listing each with its JSON path, and nothing is written. Keys no column
    takes (unknown, or a column this database lacks) are named in a `Warning` header and in `ignored`."""
    report = await userportalsync.sync_proposal(db, schema, body, dry_run=dryRun)
    report_ignored(response, body, "POST /webservices/userportalsync/sync_proposal")
    return report
