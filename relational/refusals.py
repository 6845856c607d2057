"""What the database's refusals mean for a client: the driver's errors that are no fault of the service, as the
``DomainError`` answered instead (unreachable or busy: 503 with Retry-After; a value it cannot take: 422). The
engines' ``handle_error`` listener and the read pool's direct reads (``relational.core_reads``) both ask here."""

from pymysql.constants import CR, ER
from sqlalchemy.engine import ExceptionContext

from schemas.errors import DomainError, InvalidInput

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(DomainError):
    status = 503
    title = "Database unavailable"

    def __init__(self, detail: str = "The database does not answer; try again shortly") -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class DatabaseBusy(DomainError):
    status = 503
    title = "Database busy"

    def __init__(self, why: str = "gave up on this request's transaction (deadlock or lock wait)") -> None:
        super().__init__(f"The database {why}; nothing was written; try again", headers={"Retry-After": "1"})


#: MariaDB errors of a server that cannot serve us now (besides SQLAlchemy's disconnects): unreachable, gone or
#: lost, full (too many connections) or shutting down
_UNREACHABLE = {
    CR.CR_CONNECTION_ERROR,
    CR.CR_CONN_HOST_ERROR,
    CR.CR_SERVER_GONE_ERROR,
    CR.CR_SERVER_LOST,
    ER.CON_COUNT_ERROR,
    ER.SERVER_SHUTDOWN,
}

#: MariaDB rolled the statement or transaction back because of another one: deadlock, lock wait timeout
_CONTENDED = {ER.LOCK_DEADLOCK, ER.LOCK_WAIT_TIMEOUT}

#: MariaDB stopped the statement: killed by an administrator (``KILL QUERY``), or over ``max_statement_time``
_INTERRUPTED = {ER.QUERY_INTERRUPTED, ER.STATEMENT_TIMEOUT}

#: MariaDB errors that only a client's value causes, with what to tell the client
_CLIENT_VALUE_ERRORS = {
    1267: "a text has characters outside this database's character set, so nothing can match it",
    1271: "a text has characters outside this database's character set, so nothing can match it",
    1366: "a text has characters this database cannot store (its columns are latin1)",
    1406: "a value is longer than the database column allows",
    1264: "a number is outside the database column's range",
}


def refusal(error: BaseException, is_disconnect: bool, is_pre_ping: bool = False) -> DomainError | None:
    """The answer for the driver's ``error``, or None for a fault of the service: a value the client sent that
    the database refuses (collation mix, unstorable text, too long, out of range; an integer SQLite cannot bind) is
    a 422; a database that cannot be reached or stopped answering a 503 (but a failed pre-ping is left to the pool,
    which reconnects, so recovery needs no restart); a deadlock, a lock-wait timeout or a statement the database
    stopped (killed, over its time limit) the database's refusal of this attempt, not a fault: 503, retry."""
    if isinstance(error, OverflowError):
        return InvalidInput(f"Refused by the database: {_CLIENT_VALUE_ERRORS[ER.WARN_DATA_OUT_OF_RANGE]}")
    args = getattr(error, "args", ())
    code = args[0] if args else None
    if code in _CLIENT_VALUE_ERRORS:
        return InvalidInput(f"Refused by the database: {_CLIENT_VALUE_ERRORS[code]}")
    if not is_pre_ping and (is_disconnect or code in _UNREACHABLE):
        return DatabaseUnavailable()
    if code in _CONTENDED:
        return DatabaseBusy()
    if code in _INTERRUPTED:
        return DatabaseBusy("stopped this request's statement (killed, or over its time limit)")
    return None


def on_error(context: ExceptionContext) -> None:
    """The engines' ``handle_error`` listener: raise the ``refusal`` of the statement's error, if it has one. A
    statement stopped by its caller (cancelled, a time limit, an interrupt: no ``Exception``) is no refusal, though
    SQLAlchemy counts it a disconnect: it goes on as raised."""
    if not isinstance(context.original_exception, Exception):
        return
    answer = refusal(context.original_exception, context.is_disconnect, context.is_pre_ping)
    if answer is None:
        return
    if isinstance(context.original_exception, OverflowError):
        raise answer from None
    raise answer from context.original_exception
