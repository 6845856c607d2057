"""Review of issue 15's speed changes: each test pins a behaviour the changes must keep (and failed when written)."""

from typing import Any

from tests.conftest import Flavour, _forget
from tests.test_documents_limits import ctf
from tests.test_results import three_collections
from tests.test_shipping import Caller


def _summary(sci: Caller, dc: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sci("GET", f"/datacollections/{dc}?include=metrics", 200)["documents"]["metrics"]
    return found


def test_a_metric_summary_follows_a_document_store_emptied_and_filled_again(flavour: Flavour) -> None:
    """The per-worker summary is kept under its session's metric version; when the document store is emptied (a
    fresh database, a restore, or what the test harness does between tests) the versions start again from 0, and
    the summary kept for version 1 must not come back for different metrics stored as version 1."""
    sci, dc = Caller(flavour, "sci_a"), three_collections(flavour, member=True)[0]
    assert sci("POST", "/metrics/bulk", 200, content="\n".join([ctf(dc, 1), ctf(dc, 3)]))["accepted"] == 2
    assert _summary(sci, dc)[0]["fields"]["imageNumber"]["mean"] == 2
    assert flavour.client.portal is not None
    flavour.client.portal.call(_forget, flavour.state)  # every document gone, metric_versions with them
    assert sci("POST", "/metrics/bulk", 200, content=ctf(dc, 10))["accepted"] == 1
    assert _summary(sci, dc) == [
        {"kind": "em.ctf", "count": 1, "fields": {"imageNumber": {"count": 1, "mean": 10, "median": 10}}}
    ]
