"""A collection's nesting taken out of a result row by position (relational.datacollections._layout)."""

from relational.datacollections import _layout, _Part, _shape


def test_parts_of_one_and_of_no_column_are_dicts() -> None:
    assert _Part(("a",), (2,)).of((0, 1, 2)) == {"a": 2}
    assert _Part((), ()).of((0, 1, 2)) == {}


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
