"""People."""

from fastapi import APIRouter

from app.problems import AUTHENTICATED, responses

router = APIRouter(prefix="/persons", tags=["Persons"], responses=responses(*AUTHENTICATED))
