"""Review of issue 15's speed changes: each test pins a behaviour the changes must keep (and failed when written)."""

from typing import Any

from sqlalchemy import select

from relational.models.analysis import ScreeningStrategySubWedge
from tests.conftest import Flavour, _forget
from tests.test_documents_limits import ctf
from tests.test_processing_extras import _screening
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


def test_a_column_select_on_the_read_session_keys_its_rows_by_attribute_as_the_orm_did(flavour: Flavour) -> None:
    """A SELECT of columns run as Core names a row's values after the columns (``resolution``), the ORM after the
    mapped attributes (``RESOLUTION``, which the API and its schema use): GET /processings/screenings answered 500."""

    async def keys(_db: Any) -> list[str]:
        async with flavour.state.database.read_sessions() as db:
            found = await db.execute(select(ScreeningStrategySubWedge.RESOLUTION).limit(0))
            return list(found.keys())

    assert flavour.run(keys) == ["RESOLUTION"]
    flavour.run(_screening, flavour.data.dcs["a0"], None)
    body = Caller(flavour, "sci_a")("GET", f"/processings/screenings?dataCollectionId={flavour.data.dcs['a0']}", 200)
    wedge = body["results"][0]["ScreeningOutput"][0]["ScreeningStrategy"][0]["ScreeningStrategyWedge"][0]
    assert wedge["ScreeningStrategySubWedge"][0]["RESOLUTION"] == 1.8
