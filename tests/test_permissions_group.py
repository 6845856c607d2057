"""``/sessions/group`` is a list route like the others (tests/test_permissions.py): a role gets exactly the sessions
it reaches on the group's beamlines, never another proposal's. The test group ``TB`` holds ``tb01``, where only
proposal A has a session; B's is on ``tb02``."""

import pytest

from tests.conftest import Flavour

API = "/ispyb/api/v1"
#: the data set's sessions (by proposal key) each role gets for group TB
EXPECTED = {"sci_a": ["a"], "sci_b": [], "staff": ["a"], "admin": ["a"], "nobody": []}


@pytest.mark.parametrize("role", EXPECTED)
def test_a_group_lists_only_reached_sessions(flavour: Flavour, role: str) -> None:
    r = flavour.client.get(f"{API}/sessions/group", params={"beamLineGroup": "TB"}, headers=flavour.token(role))
    assert r.status_code == 200, r.text
    listed = [s["sessionId"] for s in r.json()["results"]]
    assert listed == [flavour.data.sessions[key] for key in EXPECTED[role]]
