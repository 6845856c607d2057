"""Administration: user groups, their permissions and people, and recent activity."""

from fastapi import APIRouter

from app.problems import AUTHENTICATED, responses

router = APIRouter(prefix="/admin", tags=["Admin"], responses=responses(*AUTHENTICATED))
