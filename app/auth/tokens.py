"""The service's own tokens: HS256 JWTs carrying login and personId (permissions are re-read, not frozen)."""

from datetime import timedelta
from functools import lru_cache
from time import time

import jwt

from schemas.errors import Unauthorized
from schemas.times import utc_now

ALGORITHM = "HS256"
#: ``Person.personId`` is an unsigned 4-byte integer in both schema flavours
MAX_PERSON_ID = 2**32 - 1


def issue(secret: str, login: str, person_id: int, lifetime_minutes: int) -> str:
    """A signed token for ``login``."""
    now = utc_now()
    claims = {
        "sub": login,
        "personId": person_id,
        "iat": now,
        "exp": now + timedelta(minutes=lifetime_minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> tuple[str, int]:
    """(login, personId) from a valid token; ``Unauthorized`` saying why otherwise."""
    login, person_id, expires = _verified(secret, token)
    if expires <= time():
        raise Unauthorized("Token expired, please log in again")
    return login, person_id


@lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[str, int, float]:
    """(login, personId, expiry) of a token whose signature and claims are good, checked once per token (a
    refusal is not kept: it raises); only the expiry can turn, and ``verify`` checks it at every use."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token expired, please log in again") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"Invalid token: {exc}") from None
    person_id, login = claims.get("personId"), claims["sub"]
    if type(person_id) is not int or not 1 <= person_id <= MAX_PERSON_ID:
        raise Unauthorized("Invalid token: `personId` must be a person's id")
    if not isinstance(login, str) or not login:
        raise Unauthorized("Invalid token: `sub` must be a login")
    return login, person_id, float(claims["exp"])
