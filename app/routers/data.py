"""Diffraction frames read from the detector's files (CBF, HDF5): an image, its header and its histogram."""

from fastapi import APIRouter

from app.problems import AUTHENTICATED, responses

router = APIRouter(prefix="/data", tags=["Data"], responses=responses(*AUTHENTICATED))
