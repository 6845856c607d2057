"""All configuration, read from ``ISPYB_*`` environment variables (or a ``.env`` file)."""

import json
import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from relational.demo import BEAMLINE_GROUPS as DEMO_BEAMLINE_GROUPS
from schemas.options import BeamLineGroup

DEV_JWT_SECRET = "embedded-dev-secret-change-me-not-for-production"
#: where the embedded default writes its demo files (snapshots, diffraction frames) and serves them from
DEMO_DATA_ROOT = "./.ispyb-data/files"


#: the least ISPYB_UNFOLDED_METRICS_SECONDS, and the age from which a retry folds a batch an upload left half-stored:
#: far above the time storing one batch of metrics takes (~1 s)
MIN_UNFOLDED_SECONDS = 60


class Settings(BaseSettings):
    """The service's settings; see the README for each variable."""

    model_config = SettingsConfigDict(env_prefix="ISPYB_", env_file=".env", extra="ignore")

    mode: Literal["embedded", "dev", "production"] = "production"
    sql_url: str = "sqlite+aiosqlite:///./.ispyb-data/ispyb.sqlite"
    sql_pool_size: int = 10
    sql_pool_recycle: int = Field(3600, description="seconds; keep below the server's wait_timeout")
    #: seconds to open a MariaDB connection (TCP, greeting, login) before the request answers 503
    sql_connect_timeout: float = Field(5.0, gt=0, le=600)
    #: seconds MariaDB may stay silent while an answer is awaited (a hung server); then 503. Bounds the wait for
    #: each packet, so keep it above the slowest query's time to first row
    sql_read_timeout: float = Field(30.0, gt=0, le=3600)
    #: seconds a request waits for a free pooled connection before it answers 503
    sql_pool_timeout: float = Field(10.0, gt=0, le=600)
    #: seconds each store's probe in GET /health may take (both run at once) before it reports `timeout`
    health_timeout: float = Field(0.5, gt=0, le=5)
    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "ispyb"
    mongo_timeout_ms: int = 2000

    jwt_secret: str = DEV_JWT_SECRET
    jwt_lifetime_minutes: int = 12 * 60
    auth_plugins: Annotated[list[str], NoDecode] = []
    permission_cache_seconds: float = Field(30.0, ge=0, le=60)
    finished_session_cache_seconds: float = Field(300.0, ge=0, le=3600)
    #: seconds a batch of metrics may stay out of the rollups (its upload stopped between storing and folding it)
    #: after it was started before a worker folds it; each worker looks every tenth of this. 0: only a retry or
    #: check-rollups folds it; else at least ``MIN_UNFOLDED_SECONDS``
    unfolded_metrics_seconds: float = Field(600.0, ge=0, le=86_400)

    oidc_jwks_url: str | None = None
    oidc_public_key: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_algorithms: Annotated[list[str], NoDecode] = ["RS256"]

    beamline_groups: list[BeamLineGroup] = []

    #: container type -> capacity (positions 1..capacity); a container's own capacity wins
    container_types: dict[str, int] = {
        "Unipuck": 16,
        "SPINEpuck": 10,
        "Puck": 16,
        "Box": 25,
        "CrystalQuickX": 192,
        "Plate": 96,
    }
    dewar_code_pattern: str = r"^[A-Z]{2,6}-[A-Z]{2}-\d{4}$"
    dewar_statuses: Annotated[list[str], NoDecode] = [
        "opened",
        "at facility",
        "in storage",
        "on beamline",
        "processing",
        "sent back",
    ]
    import_max_bytes: int = Field(5_000_000, ge=1_000)
    #: bytes an uploaded workbook (XLSX) may unpack to in all (a 100,000-row sheet is ~45 MB) ...
    import_max_unpacked_bytes: int = Field(100_000_000, ge=1_000_000)
    #: ... and how many times its packed size one member over 1 MiB may unpack to (sheets: ~10-20)
    import_max_unpack_ratio: int = Field(100, ge=10)
    import_create_proteins: bool = False
    #: permission of pipelines that write results and metrics for any proposal's data collections
    processing_write_permission: str = Field("pipeline_write", max_length=15)  # Permission.type is 15 wide
    #: permission of beamline control software (MXCuBE, GDA) that writes acquisition records into any session
    acquisition_permission: str = Field("acquisition", max_length=15)
    #: members of a session's proposal may write its acquisition records (and open sessions of it), as at MAX IV
    acquisition_by_members: bool = False
    #: permission of staff who create, list and revoke API keys (service identities)
    api_key_permission: str = Field("manage_api_keys", max_length=15)
    #: days an API key lives when its creator gives no expiry, and the longest they may give
    api_key_max_days: int = Field(365, ge=1, le=3650)
    #: hours a refresh token (from a login or a refresh) stays good for its single use
    refresh_token_hours: float = Field(7 * 24, gt=0, le=90 * 24)
    #: seconds within which a refresh token used again (two greenlets refreshing at once) gets the same answer
    #: instead of revoking its family
    refresh_grace_seconds: float = Field(10.0, ge=0, le=120)
    #: hours an Idempotency-Key and the answer it stands for are kept
    idempotency_hours: float = Field(24.0, ge=1, le=30 * 24)
    #: permission of the user office's sync (py-ispyb's name): POST /webservices/userportalsync/sync_proposal
    uportal_sync_permission: str = Field("uportal_sync", max_length=15)
    #: logbook kinds beyond the built-in note, fault, robot, beam, processing and alarm
    logbook_kinds: Annotated[list[str], NoDecode] = []
    #: bytes a logbook entry's text may hold (UTF-8)
    logbook_max_bytes: int = Field(100_000, ge=1_000, le=1_000_000)
    #: GraphQL (POST /graphql): deepest selection (a Relay connection is one level), highest cost (objects a query
    #: may ask for, by page sizes and _entities representations),
    #: seconds a query may run, whether the schema may be introspected (GraphiQL is served in dev/embedded only)
    graphql_max_depth: int = Field(10, ge=2, le=50)
    graphql_max_cost: int = Field(50_000, ge=100, le=10_000_000)
    graphql_timeout: float = Field(10.0, gt=0, le=600)
    graphql_introspection: bool = True
    document_max_bytes: int = Field(1_000_000, ge=1_000, le=16_000_000)
    document_max_depth: int = Field(20, ge=2, le=100)
    #: nesting limit of any JSON body (and NDJSON line), checked on the raw bytes before parsing (app/json_guard.py)
    json_max_depth: int = Field(128, ge=110, le=500)
    #: time limit of counts and scans that may grow with a collection (a slow count gives an estimate, not a 503)
    mongo_count_timeout_ms: int = Field(1000, ge=1, le=60_000)
    #: socket and operation time limit of maintenance commands (check-rollups) over whole collections
    mongo_long_timeout_ms: int = Field(600_000, ge=1_000)
    query_max_time_ms: int = Field(5000, ge=100, le=600_000)
    query_max_results: int = Field(10_000, ge=1, le=1_000_000)
    #: refuse results and metrics of kinds nobody registered (otherwise they are stored schema-free)
    strict_kinds: bool = False
    #: extra spreadsheet profiles: {"name": {"rowField": "Column header", ...}} (see schemas/shipment_import.py)
    import_profiles: dict[str, dict[str, str]] = {}
    cors_origins: Annotated[list[str], NoDecode] = []
    motd: str = ""

    #: directories files (snapshots, thumbnails, attachments, diffraction frames) may be served from: a JSON list;
    #: any other path, `..` or a symlink leading out of them answers 404. Empty: no file is served
    data_roots: list[str] = []
    #: path prefixes as stored in the database -> where this host mounts them, e.g. {"/dls": "/mnt/dls"}
    data_path_map: dict[str, str] = {}
    #: seconds a file-system call (stat, open, read) may take before the request answers 503 (a hung mount)
    file_timeout: float = Field(5.0, gt=0, le=120)
    #: threads for file-system calls, apart from the event loop's own pool: a hung mount ties up these only
    file_threads: int = Field(8, ge=1, le=256)
    #: bytes of rendered diffraction images kept in memory per worker
    image_cache_bytes: int = Field(64_000_000, ge=0, le=4_000_000_000)
    #: seconds a signed download URL (POST /user/sign) stays good
    sign_seconds: float = Field(60.0, gt=0, le=24 * 3600)

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: dict[str, object]) -> dict[str, object]:
        for key in ("auth_plugins", "cors_origins", "oidc_algorithms", "dewar_statuses", "logbook_kinds"):
            value = data.get(key)
            if isinstance(value, str) and value.lstrip().startswith("["):
                data[key] = json.loads(value)  # a JSON list, as pydantic-settings reads other lists
            elif isinstance(value, str):
                data[key] = [item.strip() for item in value.split(",") if item.strip()]
        return data

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.mode == "production":
            if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
                raise ValueError("ISPYB_JWT_SECRET must be set to a secret of 32+ characters outside dev mode")
        unknown = set(self.auth_plugins) - {"dummy", "oidc"}
        if unknown:
            hint = " (keycloak is the oidc plugin's other name: enable oidc)" if "keycloak" in unknown else ""
            raise ValueError(f"ISPYB_AUTH_PLUGINS: unknown plugin(s) {sorted(unknown)}; known: dummy, oidc{hint}")
        try:
            re.compile(self.dewar_code_pattern)
        except re.error as exc:
            raise ValueError(f"ISPYB_DEWAR_CODE_PATTERN is not a regular expression: {exc}") from None
        if "oidc" in self.auth_plugins and not (self.oidc_jwks_url or self.oidc_public_key):
            raise ValueError("the oidc plugin needs ISPYB_OIDC_JWKS_URL or ISPYB_OIDC_PUBLIC_KEY")
        if 0 < self.unfolded_metrics_seconds < MIN_UNFOLDED_SECONDS:
            raise ValueError(
                f"ISPYB_UNFOLDED_METRICS_SECONDS must be 0 (off) or at least {MIN_UNFOLDED_SECONDS}: a batch of metrics"
                " younger than that may still be being stored, and folding part of it would leave the rest out"
            )
        return self

    @model_validator(mode="after")
    def _demo_beamline_groups(self) -> "Settings":
        """The embedded default serves the demo data: its beamline staff (``mxstaff``) see i03 unless
        ISPYB_BEAMLINE_GROUPS is given."""
        if self.mode == "embedded" and "beamline_groups" not in self.model_fields_set:
            self.beamline_groups = list(DEMO_BEAMLINE_GROUPS)
        if self.mode == "embedded" and "data_roots" not in self.model_fields_set:
            self.data_roots = [DEMO_DATA_ROOT]
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.sql_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
