"""The embedded default's demo data set as the README describes it: `mxstaff` is beamline staff of i03."""

import asyncio
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from relational import demo
from relational.db import Database

API = "/ispyb/api/v1"


async def _seed(url: str) -> None:
    database = Database(url)
    try:
        await database.start()
        async with database.sessions() as db:
            await demo.seed(db, mx_collections=8)
            await db.commit()
    finally:
        await database.dispose()


def test_mxstaff_sees_the_sessions_of_i03(tmp_path: Path, mongo_url: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ispyb.sqlite'}"
    asyncio.run(_seed(url))
    settings = Settings(  # the embedded default's settings: no beamline groups given
        _env_file=None,
        mode="embedded",
        sql_url=url,
        mongo_url=mongo_url,
        mongo_db=f"demo_{uuid.uuid4().hex[:8]}",
        auth_plugins=["dummy"],
    )
    with TestClient(create_app(settings)) as client:

        def sessions(login: str) -> set[tuple[str, str, int]]:
            r = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": login, "password": "x"})
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            r = client.get(f"{API}/sessions", params={"limit": 1000}, headers=headers)
            assert r.status_code == 200, r.text
            return {(s["proposal"], s["beamLineName"], s["sessionId"]) for s in r.json()["results"]}

        everything = sessions("admin")
        on_i03 = {s for s in everything if s[1] == "i03"}
        assert {proposal for proposal, _, _ in on_i03} == {"MX1", "MX2"} and on_i03 != everything
        assert sessions("mxstaff") == on_i03
        token = client.post(f"{API}/auth/login", json={"plugin": "dummy", "login": "mxstaff"}).json()["token"]
        current = client.get(f"{API}/user/current", headers={"Authorization": f"Bearer {token}"}).json()
        assert (current["beamLineGroups"], current["beamLines"]) == (["MX"], ["i03"])
