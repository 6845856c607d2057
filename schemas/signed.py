"""Signed URLs (``POST /user/sign``): py-ispyb's ``OneTimeToken``."""

from pydantic import BaseModel, Field


class SignRequest(BaseModel):
    validity: str = Field(max_length=4096, description="The URL to sign (absolute, or a path with its query)")


class OneTimeToken(BaseModel):
    validity: str = Field(description="The URL signed")
    token: str = Field(description="Append it as `?onetime=<token>` to that URL, and use it once")
