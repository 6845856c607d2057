"""The user office's sync (py-ispyb's ``/webservices/userportalsync``): a proposal and what hangs off it, upserted
from py-ispyb's ``UserPortalProposalSync`` document."""

from fastapi import APIRouter

router = APIRouter(prefix="/webservices/userportalsync", tags=["Webservices"])
