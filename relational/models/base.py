"""Declarative base shared by every ISPyB model."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase

from relational.types import LenientDateTime


class Base(DeclarativeBase):
    """Base of the ISPyB models; every ``datetime`` column reads zero dates as NULL."""

    type_annotation_map = {datetime: LenientDateTime(), str: String(255)}
