"""The body of every error answer: RFC 9457 problem details, served as ``application/problem+json``."""

from typing import Any

from pydantic import BaseModel, Field


class ValidationIssue(BaseModel):
    """One refused part of a request (FastAPI's shape, which py-ispyb clients parse)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """What went wrong: ``title`` names the kind (one per status), ``detail`` says what happened this time."""

    type: str = Field("about:blank", description="A URI naming the problem type; `about:blank`: the status says it")
    title: str
    status: int
    detail: str | list[ValidationIssue] = Field(description="What happened; for a refused request, each issue")
    errors: list[dict[str, Any]] | None = Field(None, description="Every problem found, e.g. an import's rows")
