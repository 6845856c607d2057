"""Workflow steps (official flavour; Diamond's schema has none: empty lists and 404s), their files, and the
workflow in a collection group's event item."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models.workflows import Workflow, WorkflowStep
from tests.conftest import Flavour

API = "/ispyb/api/v1"
STEP_KEYS = {"workflowId", "workflowStepId", "workflowStepType", "status", "comments", "_metadata"}


async def _workflow(db: AsyncSession, group_id: int, directory: Path, steps: int) -> tuple[int, list[int]]:
    workflow = Workflow(workflowTitle="MXPressE", workflowType="MXPressE", status="Success", comments="ok")
    db.add(workflow)
    await db.flush()
    query = "UPDATE DataCollectionGroup SET workflowId = :w WHERE dataCollectionGroupId = :g"
    await db.execute(text(query), {"w": workflow.workflowId, "g": group_id})
    rows = [
        WorkflowStep(
            workflowId=workflow.workflowId,
            workflowStepType=f"step {i}",
            status="Success",
            imageResultFilePath=str(directory / ("plot.png" if i == 0 else f"none{i}.png")),
            resultFilePath=str(directory / "result.json") if i == 0 else None,
        )
        for i in range(steps)
    ]
    db.add_all(rows)
    await db.flush()
    return workflow.workflowId, [r.workflowStepId for r in rows]


def get(flavour: Flavour, path: str, role: str = "sci_a", **params: object) -> dict[str, Any]:
    r = flavour.client.get(f"{API}{path}", headers=flavour.token(role), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def official(flavour: Flavour) -> Flavour:
    if flavour.name != "official":
        pytest.skip("Diamond's schema has no workflows")
    return flavour


def _made(f: Flavour, data_dir: Path) -> dict[str, Any]:
    (data_dir / "plot.png").write_bytes(b"\x89PNG fake")
    (data_dir / "result.json").write_text("{}")
    a = f.run(_workflow, f.data.groups["a"], data_dir, 3)
    b = f.run(_workflow, f.data.groups["b"], data_dir, 1)
    return {"a": a, "b": b}


def test_steps(official: Flavour, data_dir: Path) -> None:
    made = _made(official, data_dir)
    workflow, steps = made["a"]
    body = get(official, "/datacollections/workflows/steps", workflowId=workflow)
    assert body["total"] == 3 and [s["workflowStepId"] for s in body["results"]] == steps
    first = body["results"][0]
    assert set(first) >= STEP_KEYS and first["workflowStepType"] == "step 0"
    assert first["_metadata"] == {
        "attachments": {"imageResultFilePath": True, "resultFilePath": True, "htmlResultFilePath": False}
    }
    assert body["results"][1]["_metadata"]["attachments"]["imageResultFilePath"] is False
    page = get(official, "/datacollections/workflows/steps", workflowId=workflow, skip=2, limit=2)
    assert page["total"] == 3 and [s["workflowStepId"] for s in page["results"]] == steps[2:]
    one = get(official, "/datacollections/workflows/steps", workflowStepId=steps[1])
    assert [s["workflowStepId"] for s in one["results"]] == [steps[1]]


def test_steps_scoped(official: Flavour, data_dir: Path) -> None:
    made = _made(official, data_dir)
    assert get(official, "/datacollections/workflows/steps", "sci_b", workflowId=made["a"][0])["total"] == 0
    seen = {s["workflowStepId"] for s in get(official, "/datacollections/workflows/steps", "sci_b")["results"]}
    assert seen & set(made["a"][1] + made["b"][1]) == set(made["b"][1])
    r = official.client.get(
        f"{API}/datacollections/workflows/steps/{made['a'][1][0]}",
        headers=official.token("sci_b"),
        params={"attachmentType": "imageResultFilePath"},
    )
    assert r.status_code == 404


def test_step_files(official: Flavour, data_dir: Path) -> None:
    steps = _made(official, data_dir)["a"][1]

    def fetch(step: int, kind: str) -> Any:
        return official.client.get(
            f"{API}/datacollections/workflows/steps/{step}",
            headers=official.token("sci_a"),
            params={"attachmentType": kind},
        )

    image = fetch(steps[0], "imageResultFilePath")
    assert (
        image.status_code == 200 and image.content == b"\x89PNG fake" and image.headers["content-type"] == "image/png"
    )
    assert fetch(steps[0], "resultFilePath").content == b"{}"
    assert fetch(steps[1], "imageResultFilePath").status_code == 404  # named, not on disk
    assert fetch(steps[1], "resultFilePath").status_code == 404  # nothing named
    assert fetch(steps[0], "logFilePath").status_code == 422
    missing = official.client.get(f"{API}/datacollections/workflows/steps/{steps[0]}", headers=official.token("sci_a"))
    assert missing.status_code == 422 and missing.headers["content-type"] == "application/problem+json"


def test_workflow_in_events(official: Flavour, data_dir: Path) -> None:
    workflow = _made(official, data_dir)["a"][0]
    events = get(official, "/events", sessionId=official.data.sessions["a"])["results"]
    assert [e["Item"]["DataCollectionGroup"]["Workflow"] for e in events if e["type"] == "dc"] == [
        {
            "workflowId": workflow,
            "comments": "ok",
            "status": "Success",
            "workflowTitle": "MXPressE",
            "workflowType": "MXPressE",
        }
    ]


def test_without_workflow_tables(flavour: Flavour) -> None:
    """Diamond's schema: an empty list, a 404, no workflow in the items (never a 500)."""
    if flavour.name != "dls":
        pytest.skip("the official schema has workflows")
    assert get(flavour, "/datacollections/workflows/steps", "admin", workflowId=1) == {
        "total": 0, "results": [], "skip": 0, "limit": 25,
    }  # fmt: skip
    r = flavour.client.get(
        f"{API}/datacollections/workflows/steps/1",
        headers=flavour.token("admin"),
        params={"attachmentType": "resultFilePath"},
    )
    assert r.status_code == 404
    events = get(flavour, "/events", sessionId=flavour.data.sessions["a"])["results"]
    assert [e["Item"]["DataCollectionGroup"]["Workflow"] for e in events if e["type"] == "dc"] == [None]


@pytest.mark.parametrize("params", [{"workflowId": 0}, {"workflowId": "x"}, {"workflowStepId": -1}, {"skip": -1}])
def test_bad_parameters(flavour: Flavour, params: dict[str, object]) -> None:
    r = flavour.client.get(f"{API}/datacollections/workflows/steps", headers=flavour.token("sci_a"), params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
