"""Diamond's processing jobs: the programs of automatic jobs are `processing` in /processings/status (the session
page's "Auto Processing"), /processings lists job programs with their ProcessingJob, and their attachments and
messages are reached through the job; the official schema links programs by AutoProcProgram.dataCollectionId."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import AutoProcProgram, AutoProcProgramAttachment, AutoProcProgramMessage
from relational.models.jobs import ProcessingJob, ProcessingJobParameter
from tests.conftest import Flavour

API = "/ispyb/api/v1"
JOB_KEYS = {
    "processingJobId",
    "displayName",
    "comments",
    "recordTimestamp",
    "recipe",
    "automatic",
    "ProcessingJobParameters",
}


async def _job(db: AsyncSession, dc_id: int, automatic: bool, program: str, status: int | None) -> dict[str, int]:
    job = ProcessingJob(
        dataCollectionId=dc_id, displayName=program, recipe=program, automatic=automatic, comments=f"{program} job",
        recordTimestamp=datetime(2024, 3, 1, 10, 0),
    )  # fmt: skip
    db.add(job)
    await db.flush()
    db.add(ProcessingJobParameter(processingJobId=job.processingJobId, parameterKey="d_min", parameterValue="1.5"))
    run = AutoProcProgram(processingPrograms=program, processingStatus=status)
    db.add(run)
    await db.flush()
    query = "UPDATE AutoProcProgram SET processingJobId = :j WHERE autoProcProgramId = :p"
    await db.execute(text(query), {"j": job.processingJobId, "p": run.autoProcProgramId})
    db.add(AutoProcProgramAttachment(autoProcProgramId=run.autoProcProgramId, fileName="x.log", filePath="/nowhere"))
    db.add(AutoProcProgramMessage(autoProcProgramId=run.autoProcProgramId, severity="ERROR", message="failed"))
    await db.flush()
    return {"job": job.processingJobId, "program": run.autoProcProgramId}


async def _linked_program(db: AsyncSession, dc_id: int, program: str) -> int:
    run = AutoProcProgram(processingPrograms=program, processingStatus=0)
    db.add(run)
    await db.flush()
    query = "UPDATE AutoProcProgram SET dataCollectionId = :d WHERE autoProcProgramId = :p"
    await db.execute(text(query), {"d": dc_id, "p": run.autoProcProgramId})
    return run.autoProcProgramId


def get(flavour: Flavour, path: str, role: str = "sci_a", **params: object) -> dict[str, Any]:
    r = flavour.client.get(f"{API}{path}", headers=flavour.token(role), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def dls(flavour: Flavour) -> Flavour:
    if flavour.name != "dls":
        pytest.skip("ProcessingJob is Diamond's")
    return flavour


def _jobs(f: Flavour) -> dict[str, dict[str, int]]:
    dcs = f.data.dcs
    return {
        "auto": f.run(_job, dcs["a0"], True, "fast_dp", 1),
        "running": f.run(_job, dcs["a0"], True, "xia2", None),
        "manual": f.run(_job, dcs["a0"], False, "reprocess", 0),
        "b": f.run(_job, dcs["b0"], True, "fast_dp", 1),
    }


def _statuses(f: Flavour, role: str, *keys: str) -> dict[str, Any]:
    ids = "[" + ",".join(str(f.data.dcs[k]) for k in keys) + "]"
    statuses: dict[str, Any] = get(f, "/processings/status", role, dataCollectionIds=ids)["statuses"]
    return statuses


def test_status_processing(dls: Flavour) -> None:
    jobs = _jobs(dls)
    statuses = _statuses(dls, "sci_a", "a0", "a1", "b0")
    a0 = statuses[str(dls.data.dcs["a0"])]
    assert a0["processing"] == {
        "fast_dp": [{"autoProcProgramId": jobs["auto"]["program"], "status": 1}],
        "xia2": [{"autoProcProgramId": jobs["running"]["program"], "status": None}],
    }
    assert list(a0["autoIntegration"]) == ["xia2 dials"]  # the integrating program stays apart
    assert statuses[str(dls.data.dcs["a1"])]["processing"] is None
    assert set(statuses) == {str(dls.data.dcs["a0"]), str(dls.data.dcs["a1"])}  # b0 is out of reach
    b0 = _statuses(dls, "sci_b", "a0", "b0")
    assert set(b0) == {str(dls.data.dcs["b0"])}
    assert b0[str(dls.data.dcs["b0"])]["processing"] == {
        "fast_dp": [{"autoProcProgramId": jobs["b"]["program"], "status": 1}]
    }


def test_job_programs_listed(dls: Flavour) -> None:
    jobs = _jobs(dls)
    body = get(dls, "/processings", dataCollectionId=dls.data.dcs["a0"])
    expected = [jobs[k]["program"] for k in ("manual", "running", "auto")]  # newest first
    assert body["total"] == 3 and [p["autoProcProgramId"] for p in body["results"]] == expected
    manual = body["results"][0]
    assert set(manual["ProcessingJob"]) == JOB_KEYS
    assert manual["ProcessingJob"]["processingJobId"] == jobs["manual"]["job"]
    assert (manual["ProcessingJob"]["automatic"], manual["ProcessingJob"]["comments"]) == (False, "reprocess job")
    assert manual["ProcessingJob"]["ProcessingJobParameters"][0] | {"processingJobParameterId": 0} == {
        "processingJobParameterId": 0, "parameterKey": "d_min", "parameterValue": "1.5",
    }  # fmt: skip
    assert manual["_metadata"]["attachments"] == 1
    assert [m["message"] for m in manual["_metadata"]["autoProcProgramMessages"]] == ["failed"]
    assert get(dls, "/processings", "sci_b", dataCollectionId=dls.data.dcs["a0"])["total"] == 0
    mine = {p["autoProcProgramId"] for p in get(dls, "/processings", "sci_b", limit=100)["results"]}
    assert mine & {j["program"] for j in jobs.values()} == {jobs["b"]["program"]}


def test_attachments_and_messages_through_the_job(dls: Flavour) -> None:
    jobs = _jobs(dls)
    program = jobs["auto"]["program"]
    attachments = get(dls, "/processings/attachments", autoProcProgramId=program)
    assert [(a["autoProcProgramId"], a["fileName"]) for a in attachments["results"]] == [(program, "x.log")]
    assert get(dls, "/processings/attachments", "sci_b", autoProcProgramId=program)["total"] == 0
    messages = get(dls, "/processings/messages", autoProcProgramId=program)
    assert [(m["severity"], m["message"]) for m in messages["results"]] == [("ERROR", "failed")]
    assert get(dls, "/processings/messages", "sci_b", autoProcProgramId=program)["total"] == 0
    by_dc = get(dls, "/processings/messages", dataCollectionId=dls.data.dcs["a0"])
    assert by_dc["total"] == 3
    ids = f"[{dls.data.dcs['a0']},{dls.data.dcs['b0']}]"
    counts = get(dls, "/processings/messages/status", dataCollectionIds=ids)["statuses"]
    assert counts == {str(dls.data.dcs["a0"]): {"errors": 3, "warnings": 0, "info": 0}}


def test_official_link(flavour: Flavour) -> None:
    """The official schema: no jobs, `processing` stays null; /processings lists programs linked by
    AutoProcProgram.dataCollectionId, without a ProcessingJob."""
    if flavour.name != "official":
        pytest.skip("AutoProcProgram.dataCollectionId is the official schema's")
    program = flavour.run(_linked_program, flavour.data.dcs["a0"], "dimple")
    body = get(flavour, "/processings", dataCollectionId=flavour.data.dcs["a0"])
    assert [(p["autoProcProgramId"], p["ProcessingJob"]) for p in body["results"]] == [(program, None)]
    assert _statuses(flavour, "sci_a", "a0")[str(flavour.data.dcs["a0"])]["processing"] is None
    assert get(flavour, "/processings", "sci_b", dataCollectionId=flavour.data.dcs["a0"])["total"] == 0
