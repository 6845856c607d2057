"""What the lifespan creates once per process and the request dependencies hand out."""

from dataclasses import dataclass, field

from app.auth.plugins import LoginPlugin
from app.settings import Settings
from documents.store import DocumentStore
from relational.db import Database
from relational.people import Standing
from relational.sessions import FinishedSessionCounts


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
