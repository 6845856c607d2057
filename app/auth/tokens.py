"""The service's own tokens: HS256 JWTs carrying login and personId (permissions are re-read, not frozen)."""

from datetime import UTC, datetime, timedelta

import jwt

from app.errors import Unauthorized

ALGORITHM = "HS256"


def issue(secret: str, login: str, person_id: int, lifetime_minutes: int) -> str:
    """A signed token for ``login``."""
    now = datetime.now(UTC)
    claims = {
        "sub": login,
        "personId": person_id,
        "iat": now,
        "exp": now + timedelta(minutes=lifetime_minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> tuple[str, int]:
    """(login, personId) from a valid token; ``Unauthorized`` saying why otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token expired, please log in again") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"Invalid token: {exc}") from None
    person_id = claims.get("personId")
    if not isinstance(person_id, int) or not isinstance(claims["sub"], str):
        raise Unauthorized("Invalid token: missing personId")
    return claims["sub"], person_id
