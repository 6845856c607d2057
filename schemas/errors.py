"""The service's one error hierarchy: every error answered on purpose, with its HTTP status and RFC 9457 problem
type on the class. Lowest floor: data access and services raise these; ``app/problems.py`` renders them."""

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the service answers on purpose; the HTTP status lives on the class."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    type: ClassVar[str] = "about:blank"  #: RFC 9457 problem type (a URI); ``about:blank``: the status says it all

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra  #: RFC 9457 extension members, e.g. ``errors``


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Unauthorized(DomainError):
    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


class UnsupportedFile(DomainError):
    status = 415
    title = "Unsupported file type"


class ImportRejected(DomainError):
    """The sheet has problems: every one of them is listed in ``errors``; nothing was written."""

    status = 422
    title = "Import rejected"


class FilesUnavailable(DomainError):
    """The file system did not answer within ISPYB_FILE_TIMEOUT (a hung or unmounted data mount), or every file
    thread is still held by calls that did not."""

    status = 503
    title = "Files unavailable"

    def __init__(self, detail: str = "The file system does not answer; try again shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "5"})
