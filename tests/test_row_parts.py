"""Nestings taken out of result rows by position (relational.common.RowPart): a collection's (datacollections)
and a program's integrations down to their shells (processings)."""

from typing import Any, cast

from sqlalchemy import Result

from relational.common import RowPart
from relational.datacollections import _layout, _shape
from relational.processings import _AUTO_PROC, _folded


def test_parts_of_one_and_of_no_column_are_dicts() -> None:
    keys = ("x", "y", "a")
    assert RowPart(keys, [("b", "a")]).of((0, 1, 2)) == {"b": 2}
    assert RowPart(keys, []).of((0, 1, 2)) == {}
    assert RowPart(keys, [("a", "a"), ("x", "x")]).of((0, 1, 2)) == {"a": 2, "x": 0}


def test_prefixed_group_and_file_columns_leave_the_item() -> None:
    keys = (
        "dataCollectionId",
        "comments",
        "group_dataCollectionGroupId",
        "group_experimentType",
        "group_startTime",
        "group_endTime",
        "group_comments",
        "xtalSnapshotFullPath1",
        "xtalSnapshotFullPath2",
        "xtalSnapshotFullPath3",
        "xtalSnapshotFullPath4",
        "_qualityPlot",
        "s_sessionId",
        "_attachments",
    )
    row = tuple(f"v{i}" for i in range(len(keys)))
    layout = _layout(keys, ("s_",))
    item = _shape(row, layout)
    assert item == {
        "dataCollectionId": "v0",
        "comments": "v1",
        "_attachments": "v13",
        "DataCollectionGroup": {
            "dataCollectionGroupId": "v2",
            "experimentType": "v3",
            "startTime": "v4",
            "endTime": "v5",
            "comments": "v6",
        },
        "_metadata": {"snapshots": {}},
        "_files": {"1": "v7", "2": "v8", "3": "v9", "4": "v10", "analysis": "v11"},
        "GridInfo": [],
    }
    assert layout.prefixed["s_"].of(row) == {"sessionId": "v12"}


class _Rows:
    """What ``_folded`` reads of a result: its keys and its rows."""

    def __init__(self, keys: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        self._keys, self._rows = keys, rows

    def keys(self) -> tuple[str, ...]:
        return self._keys

    def __iter__(self) -> Any:
        return iter(self._rows)


def test_programs_fold_down_to_shells_and_stop_at_missing_levels() -> None:
    ap = [c.name for c in _AUTO_PROC]
    i = ["i_autoProcIntegrationId", "i_dataCollectionId", "i_refinedXBeam", "i_refinedYBeam", "i_xBeam", "i_yBeam"]
    keys = ("autoProcProgramId", "_total", *i, "i_autoProcScaling_has_IntId", "i_autoProcScalingId", *ap)
    keys += ("st_autoProcScalingStatisticsId", "st_rMerge")
    proc = [7 if name == "ap_autoProcId" else None for name in ap]

    def row(program: int, integration: int | None, link: int | None, scaling: int | None, shell: int | None) -> Any:
        return (program, 3, integration, 10, 1.5, 2.5, 100.0, 200.0, link, scaling, *proc, shell, 0.1)

    rows = [
        row(2, 20, 200, 2000, 1),  # a program, its integration, its scaling and two shells
        row(2, 20, 200, 2000, 2),
        row(2, 21, 201, None, None),  # a link to no scaling
        row(1, None, None, None, None),  # a program that integrated nothing
    ]
    programs = _folded(cast(Result[Any], _Rows(keys, rows)), ["autoProcProgramId", "_total"])
    assert [p["autoProcProgramId"] for p in programs] == [2, 1]
    assert programs[1] == {"autoProcProgramId": 1, "_total": 3, "AutoProcIntegration": []}
    first, second = programs[0]["AutoProcIntegration"]
    assert first["DataCollection"] == {"xBeam": 100.0, "yBeam": 200.0}
    assert (first["autoProcIntegrationId"], first["dataCollectionId"], first["refinedXBeam"]) == (20, 10, 1.5)
    (link,) = first["AutoProcScalingHasInt"]
    scaling = link["AutoProcScaling"]
    assert link["autoProcScaling_has_IntId"] == 200 and scaling["autoProcScalingId"] == 2000
    assert scaling["AutoProc"]["autoProcId"] == 7
    shells = scaling["AutoProcScalingStatistics"]
    assert shells == [
        {"autoProcScalingStatisticsId": 1, "rMerge": 0.1},
        {"autoProcScalingStatisticsId": 2, "rMerge": 0.1},
    ]
    assert second["AutoProcScalingHasInt"] == [{"autoProcScaling_has_IntId": 201, "AutoProcScaling": None}]
