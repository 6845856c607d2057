"""The tests' own isolation: what a test writes (SQL, committed or not, and documents) is gone after it."""

import pytest

from tests.conftest import Flavour, Flavours, isolated
from tests.test_shipping import Caller, courier, proposal_id

RESULT = {"kind": "mx.autoproc", "program": {"name": "isolation", "version": "1"}}


@pytest.mark.parametrize("name", ["official", "dls"])
def test_a_tests_writes_are_gone_after_it(flavours: Flavours, name: str) -> None:
    f = flavours.get(name, commits=False)
    with isolated(f) as inside:
        sci = Caller(inside, "sci_a")
        ship = sci("POST", "/shippings", 201, json=courier(proposal_id(inside, "a")))["shippingId"]
        sci("POST", "/results", 201, json=RESULT | {"dataCollectionIds": [inside.data.dcs["a0"]]})
        assert sci("GET", "/shippings", 200)["total"] == 2 and sci("GET", "/results", 200)["total"] == 1
    with isolated(f) as after:
        sci = Caller(after, "sci_a")
        sci("GET", f"/shippings/{ship}", 404)
        assert sci("GET", "/shippings", 200)["total"] == 1 and sci("GET", "/results", 200)["total"] == 0


def test_a_committing_test_gets_a_database_of_its_own(flavours: Flavours) -> None:
    isolated_one, committing = flavours.get("official", commits=False), flavours.get("official", commits=True)
    assert isolated_one.database != committing.database
    assert isolated_one.settings.mongo_db != committing.settings.mongo_db


def test_tokens_are_cached_per_role(flavour: Flavour) -> None:
    assert flavour.token("sci_a") is flavour.token("sci_a") and flavour.token("sci_a") != flavour.token("sci_b")
