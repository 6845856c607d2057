"""The harness of tests/test_mxcube.py: our app under uvicorn with every HTTP call recorded, the visit's data
(a user, their proposal, a sample at the beamline's sample changer, a detector), and the driver run in MXCuBE's venv."""

import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.main import create_app
from relational.models import (
    BLSample,
    Container,
    Crystal,
    Detector,
    Dewar,
    DiffractionPlan,
    Permission,
    Person,
    Proposal,
    ProposalHasPerson,
    Protein,
    Shipping,
    UserGroup,
    UserGroupHasPermission,
    UserGroupHasPerson,
)
from tests.conftest import Flavour, make_settings

ROOT = Path(__file__).resolve().parents[1]
MXCUBE_PYTHON = Path(os.environ.get("ISPYB_MXCUBE_PYTHON", ROOT / ".venv-mxcube" / "bin" / "python"))
DRIVER = Path(__file__).with_name("mxcube_driver.py")
#: the client version the tests run (tests/mxcube-requirements.txt; docs/design/mxcube-calls.md read this one)
PINNED = re.findall(r"^mxcubecore==(\S+)$", (ROOT / "tests" / "mxcube-requirements.txt").read_text(), re.MULTILINE)[0]
BEAMLINE = "tb07"
SLOT = 7


@dataclass
class Call:
    method: str
    path: str
    status: int | None
    warning: str | None


@dataclass
class Recorder:
    """ASGI middleware keeping each HTTP call's method, path with query, status and ``Warning`` header."""

    app: ASGIApp
    calls: list[Call] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode()
        call = Call(scope["method"], scope["path"] + (f"?{query}" if query else ""), None, None)
        self.calls.append(call)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                call.status = message["status"]
                headers = dict(message.get("headers", []))
                warning = headers.get(b"warning")
                call.warning = warning.decode() if warning else None
            await send(message)

        await self.app(scope, receive, sending)


@contextmanager
def serving(flavour: Flavour, oidc_key: rsa.RSAPrivateKey, **settings: object) -> Iterator[tuple[str, Recorder]]:
    """Our app under uvicorn in a thread, on a free port of 127.0.0.1: (MXCuBE's rest_root, the call recorder)."""
    app = create_app(make_settings(flavour.url, flavour.settings.mongo_url, flavour.database, oidc_key, **settings))
    recorder = Recorder(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(recorder, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/ispyb/api/v1/", recorder
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@dataclass
class Visit:
    """The proposal MXCuBE's user comes with: a person (the token's user), a sample in a container at the
    beamline's sample changer, and the detector the beamline config names."""

    login: str
    person_id: int
    proposal_id: int
    sample_id: int
    plan_id: int
    detector_id: int
    detector: dict[str, str]


async def _permission(db: AsyncSession, person_id: int, permission: str, tag: str) -> None:
    """``permission`` for the person through a user group of its own (the Permission row shared if it exists)."""
    found = (await db.execute(select(Permission).where(Permission.type == permission))).scalars().first()
    if found is None:
        found = Permission(type=permission)
        db.add(found)
    group = UserGroup(name=f"mx_{tag}"[:31])
    db.add(group)
    await db.flush()
    db.add_all(
        [
            UserGroupHasPermission(userGroupId=group.userGroupId, permissionId=found.permissionId),
            UserGroupHasPerson(userGroupId=group.userGroupId, personId=person_id),
        ]
    )


async def add_visit(db: AsyncSession, tag: str, permission: str | None) -> Visit:
    person = Person(login=f"mx_{tag}", givenName="Max", familyName="Cube")
    db.add(person)
    await db.flush()
    number = str(int(tag[:7], 16))
    proposal = Proposal(
        proposalCode="mx", proposalNumber=number, title="MXCuBE visit", state="Open", personId=person.personId
    )
    db.add(proposal)
    await db.flush()
    db.add(ProposalHasPerson(proposalId=proposal.proposalId, personId=person.personId))
    if permission:
        await _permission(db, person.personId, permission, tag)
    protein = Protein(proposalId=proposal.proposalId, acronym="lyso", name="lysozyme")
    shipping = Shipping(proposalId=proposal.proposalId, shippingName=f"mx {tag}")
    db.add_all([protein, shipping])
    await db.flush()
    dewar = Dewar(shippingId=shipping.shippingId, code=f"dw-{tag}")
    db.add(dewar)
    await db.flush()
    container = Container(
        dewarId=dewar.dewarId,
        code="puck-7",
        containerType="Unipuck",
        capacity=16,
        beamlineLocation=BEAMLINE,
        sampleChangerLocation=str(SLOT),
    )
    crystal = Crystal(
        proteinId=protein.proteinId,
        spaceGroup="P43212",
        cell_a=79.1,
        cell_b=79.1,
        cell_c=38.2,
        cell_alpha=90.0,
        cell_beta=90.0,
        cell_gamma=90.0,
    )
    plan = DiffractionPlan(comments="native")
    detector = {"manufacturer": "Dectris", "model": f"EIGER2-{tag[:8]}", "mode": "1", "type": "Photon counting"}
    row = Detector(
        detectorManufacturer=detector["manufacturer"],
        detectorModel=detector["model"],
        detectorMode=detector["mode"],
        detectorType=detector["type"],
    )
    db.add_all([container, crystal, plan, row])
    await db.flush()
    sample = BLSample(
        name="lyso",
        location="3",
        containerId=container.containerId,
        crystalId=crystal.crystalId,
        diffractionPlanId=plan.diffractionPlanId,
    )
    db.add(sample)
    await db.flush()
    return Visit(
        person.login or "",
        person.personId,
        proposal.proposalId,
        sample.blSampleId,
        plan.diffractionPlanId,
        row.detectorId,
        detector,
    )


def drive(rest_root: str, token: str, mode: str, tmp_path: Path, **plan: Any) -> dict[str, Any]:
    """Run the driver in MXCuBE's venv; what it wrote."""
    out = tmp_path / f"{mode}.json"
    body = {"rest_root": rest_root, "token": token, "beamline": BEAMLINE, "mode": mode, "out": str(out), **plan}
    done = subprocess.run(
        [str(MXCUBE_PYTHON), str(DRIVER)], input=json.dumps(body), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and out.exists(), done.stderr[-4000:]
    answer: dict[str, Any] = json.loads(out.read_text())
    assert answer["mxcubecore"] == PINNED, f"the driver ran mxcubecore {answer['mxcubecore']}, not the pinned {PINNED}"
    return answer


def report(title: str, recorder: Recorder, steps: dict[str, Any]) -> None:
    """The HTTP calls the client made and what each adapter call returned (shown with ``pytest -s``)."""
    print(f"\n== {title}: HTTP calls of MXCuBE's client")
    for c in recorder.calls:
        print(f"{c.status} {c.method} {c.path}" + (f"   [Warning: {c.warning}]" if c.warning else ""))
    print(f"== {title}: adapter calls")
    for name, outcome in steps.items():
        print(f"{name}: {json.dumps(outcome)[:300]}")
