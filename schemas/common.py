"""Shapes shared by every route: the list envelope and the ORM-friendly base."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class ApiModel(BaseModel):
    """Base of response models: built from row mappings, ``_metadata`` given by alias or name."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class Paged(BaseModel, Generic[T]):
    """py-ispyb's list envelope."""

    total: int
    results: list[T]
    skip: int
    limit: int
