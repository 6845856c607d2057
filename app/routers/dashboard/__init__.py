"""The dashboard page (`/dashboard`): static HTML and JavaScript over the API, and plotly.js as shipped by the
`plotly` Python package (no separate front-end build)."""

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(prefix="/dashboard", include_in_schema=False)
STATIC = Path(__file__).resolve().parent
PLOTLY = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get("")
async def page() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", media_type="text/html")


@router.get("/dashboard.js")
async def script() -> FileResponse:
    return FileResponse(STATIC / "dashboard.js", media_type="text/javascript")


@router.get("/plotly.min.js")
async def plotly() -> FileResponse:
    return FileResponse(PLOTLY, media_type="text/javascript", headers=CACHE)
