"""A data collection's pictures: crystal snapshots, the diffraction thumbnail and the quality-indicator plot."""

from fastapi import APIRouter

from app.problems import AUTHENTICATED, responses

router = APIRouter(prefix="/datacollections", tags=["Data collections"], responses=responses(*AUTHENTICATED))
