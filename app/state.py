"""What the lifespan creates once per process and the request dependencies hand out."""

from dataclasses import dataclass, field

from app.auth.api_keys import KeyCache
from app.auth.plugins import LoginPlugin
from app.files.pool import FilePool
from app.settings import Settings
from documents.metrics import Summaries
from documents.results import Latest
from documents.store import DocumentStore
from documents.versions import Reader
from relational.connection import Timeouts
from relational.db import Database
from relational.people import Standing
from relational.sessions import FinishedSessionCounts

#: the latest results a worker keeps, in bytes of BSON
RESULTS_KEPT_BYTES = 64 * 2**20
#: the collections whose session a worker keeps
SESSIONS_KEPT = 100_000


@dataclass
class Kept:
    """What one worker keeps of collections' documents, each under its session's version of that part, and how it
    reads those versions."""

    results: Latest = field(default_factory=lambda: Latest(limit=RESULTS_KEPT_BYTES))
    summaries: Summaries = field(default_factory=Summaries)
    versions: Reader = field(default_factory=Reader)
    #: the session each collection was last read in (``SESSIONS_KEPT`` at most): its versions' read starts with the
    #: collection's, and is read again should the collection turn out to be in another session
    sessions: dict[int, int] = field(default_factory=dict)


@dataclass
class AppState:
    settings: Settings
    database: Database
    documents: DocumentStore
    plugins: dict[str, LoginPlugin]
    session_counts: FinishedSessionCounts
    #: personId -> (expires at, login and permissions, None for no such person); re-read from the database after
    #: ``permission_cache_seconds``
    permissions: dict[int, tuple[float, Standing | None]] = field(default_factory=dict)
    #: API keys as last read from the document store, for ``permission_cache_seconds``
    api_keys: KeyCache = field(default_factory=KeyCache)
    #: collections' latest results and metric summaries, kept while their session's versions hold
    kept: Kept = field(default_factory=Kept)
    #: the file-system threads (``app.files``), bounded by ``file_timeout``; the lifespan closes them
    files: FilePool = field(init=False)

    def __post_init__(self) -> None:
        self.files = FilePool(self.settings.file_threads, self.settings.file_timeout)


def open_database(settings: Settings) -> Database:
    """The relational store as the settings describe it (pool and timeouts), for the service and the CLI alike."""
    timeouts = Timeouts(settings.sql_connect_timeout, settings.sql_read_timeout, settings.sql_pool_timeout)
    return Database(settings.sql_url, settings.sql_pool_size, settings.sql_pool_recycle, timeouts)
