"""Indexes declared in code, ensured at start-up. Every document carries ``proposalId`` (scoping) and
references SQL rows by id."""

from pymongo import ASCENDING, DESCENDING, IndexModel

INDEXES: dict[str, list[IndexModel]] = {
    "results": [
        IndexModel([("proposalId", ASCENDING), ("dataCollectionIds", ASCENDING)], name="proposal_dc"),
        IndexModel([("sessionIds", ASCENDING), ("kind", ASCENDING)], name="session_kind"),
        IndexModel([("dataCollectionIds", ASCENDING), ("kind", ASCENDING), ("version", DESCENDING)], name="dc_kind"),
    ],
    "metrics": [
        IndexModel([("proposalId", ASCENDING), ("kind", ASCENDING)], name="proposal_kind"),
        IndexModel([("dataCollectionId", ASCENDING), ("kind", ASCENDING)], name="dc_kind"),
    ],
}
