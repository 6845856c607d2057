"""Every mapped table and column exists with a compatible type in both flavours; a missing one is reported."""

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from relational.flavour import detect
from relational.schema_check import Mismatch, check
from tests.conftest import MARIADB, load_flavour, mariadb


async def _check(url: str) -> tuple[list[Mismatch], str, list[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(check), (info := await conn.run_sync(detect)).flavour, info.degraded
    finally:
        await engine.dispose()


@pytest.mark.parametrize("name", ["official", "dls"])
def test_zero_mismatches_on_both_flavours(name: str) -> None:
    database = f"ispyb_schema_{name}_{uuid.uuid4().hex[:8]}"
    load_flavour(name, database)
    try:
        problems, flavour, degraded = asyncio.run(_check(f"{MARIADB}/{database}"))
        assert problems == [] and flavour == name
        expected = "AutoProcProgramMessage" if name == "official" else "DataCollection.xBeamPix"
        assert expected in degraded
        # the same table on a drifted database: a dropped and a retyped column are both reported
        mariadb(database, "-e", "ALTER TABLE DataCollection DROP COLUMN wavelength, MODIFY resolution VARCHAR(20)")
        problems, _, _ = asyncio.run(_check(f"{MARIADB}/{database}"))
        assert {(p.table, p.column) for p in problems} == {
            ("DataCollection", "wavelength"),
            ("DataCollection", "resolution"),
        }
    finally:
        mariadb("-e", f"DROP DATABASE IF EXISTS `{database}`")
