"""A beamline visit through MXCuBE's real, unchanged PyISPyB client (``PyISPyBRestClient`` + ``PyISPyBDataAdapter``
of mxcubecore), run by tests/test_mxcube.py in the venv where mxcubecore is installed (never imported by the
service's tests). Reads a JSON plan on stdin, makes the calls MXCuBE makes in the order it makes them, with the
dicts its queue entries and collect objects build, and writes JSON to the path given in the plan: per step what
the adapter returned (or the exception it let out), and the dicts as finally sent (the adapter edits some).

Plan keys: rest_root, token (the identity provider's JWT), beamline, mode (``visit`` or ``outsider``), out (path),
and for a visit sample_id, container_slot, detector ({manufacturer, model, mode, type}); for an outsider the
victim's session_id, collection_id and sample_id.
"""

import copy
import importlib
import importlib.metadata
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

# before mxcubecore is imported: its package adds a stdout handler when the root logger has none, and the
# driver's stdout must stay clean
logging.basicConfig(stream=sys.stderr, level=logging.INFO)

NOW = datetime.now().replace(microsecond=0)  # noqa: DTZ005 - MXCuBE sends naive local times, so do we
LOCAL = "%Y-%m-%d %H:%M:%S"


def _local(offset_seconds: int) -> str:
    return (NOW + timedelta(seconds=offset_seconds)).strftime(LOCAL)


class Steps:
    """Runs each adapter call, keeping its answer or the exception it let out."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}

    def run(self, name: str, call: Any, *args: Any) -> Any:
        try:
            answer = call(*args)
        except Exception as exc:  # noqa: BLE001 - recorded for the test to report, never hidden
            self.results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            return None
        self.results[name] = {"result": answer}
        return answer


def bl_config(detector: dict[str, str]) -> dict[str, Any]:
    """``AbstractCollect.BeamlineConfig`` as a site passes it (a dict of plain values, AC L43-65)."""
    return {
        "synchrotron_name": "TESTSYNC",
        "directory_prefix": "mx",
        "default_exposure_time": 0.04,
        "minimum_exposure_time": 0.002,
        "detector_fileext": "h5",
        "detector_type": detector["type"],
        "detector_manufacturer": detector["manufacturer"],
        "detector_model": detector["model"],
        "detector_px": 0.075,
        "detector_py": 0.075,
        "detector_binning_mode": detector["mode"],
        "undulators": [],
        "focusing_optic": "KB mirrors",
        "monochromator_type": "Si(111)",
        "beam_divergence_vertical": 6.5,
        "beam_divergence_horizontal": 104.0,
        "polarisation": 0.99,
        "input_files_server": None,
    }


def collection(session_id: str | None, group: Any, sample_id: int) -> dict[str, Any]:
    """``queue_model_objects.to_collect_dict`` for a 100-image rotation, plus what AbstractCollect adds before the
    first store (``synchrotronMode``, the start time, the running status)."""
    return {
        "comments": "mxcubecore e2e",
        "take_video": False,
        "take_snapshots": True,
        "fileinfo": {
            "directory": "/data/visitor/mx/20261202/RAW_DATA/lyso",
            "prefix": "lyso_1",
            "run_number": 2,
            "archive_directory": "/data/pyarch/mx/lyso",
            "process_directory": "/data/visitor/mx/20261202/PROCESSED_DATA/lyso",
            "template": "lyso_1_2_%05d.cbf",
            "compression": False,
        },
        "in_queue": False,
        "in_interleave": None,
        "detector_binning_mode": 1,
        "detector_roi_mode": "",
        "shutterless": True,
        "sessionId": session_id,
        "do_inducedraddam": False,
        "sample_reference": {
            "spacegroup": "P43212",
            "cell": "79.1,79.1,38.2,90,90,90",
            "blSampleId": sample_id,
            "sample_name": "lyso",
            "acronym": "lyso",
        },
        "processing": "True",
        "processing_offline": True,
        "processing_online": False,
        "residues": 200,
        "dark": False,
        "detector_distance": 250.0,
        "resolution": 1.5,
        "transmission": 20.0,
        "energy": 12.7,
        "oscillation_sequence": [
            {
                "exposure_time": 0.02,
                "kappaStart": 0.0,
                "phiStart": 0.0,
                "start_image_number": 1,
                "number_of_images": 100,
                "offset": 0.0,
                "start": 10.0,
                "range": 0.1,
                "number_of_passes": 1,
                "number_of_lines": 1,
                "mesh_range": (),
                "num_triggers": None,
                "num_images_per_trigger": None,
            }
        ],
        "group_id": group,
        "EDNA_files_dir": "/data/visitor/mx/20261202/PROCESSED_DATA/lyso",
        "xds_dir": None,
        "anomalous": False,
        "experiment_type": "OSC",
        "skip_images": True,
        "position_name": None,
        "motors": {},
        "ispyb_group_data_collections": False,
        "workflow_parameters": {},
        "synchrotronMode": "Uniform",
        "collection_start_time": _local(0),
        "status": "Running",
        "centringMethod": "xray",
        "actualCentringPosition": " phi=10.0 kappa=0.0 sampx=0.1 sampy=0.2 phiy=0.3",
        "xtalSnapshotFullPath1": "/data/pyarch/mx/lyso/snapshot_1.png",
        "xtalSnapshotFullPath2": "/data/pyarch/mx/lyso/snapshot_2.png",
    }


def after_collect(dc: dict[str, Any], sample_id: int, container_slot: int) -> None:
    """What AbstractCollect writes into the dict before an update: the sample it found (``get_sample_info``)
    and the beam (``update_data_collection_in_lims``)."""
    dc.update(
        blSampleId=sample_id,
        actualSampleBarcode="PIN-0042",
        actualContainerBarcode="PK-0007",
        actualSampleSlotInContainer=3,
        actualContainerSlotInSC=container_slot,
        flux=3.2e12,
        flux_end=3.2e12,
        totalAbsorbedDose=0.6,
        wavelength=0.9763,
        detectorDistance=250.0,
        resolution=1.52,
        transmission=20.0,
        xBeam=155.2,
        yBeam=163.9,
        resolutionAtCorner=1.21,
        beamSizeAtSampleX=0.05,
        beamSizeAtSampleY=0.02,
        beamShape="ellipse",
        slitGapHorizontal=0.1,
        slitGapVertical=0.05,
        undulatorGap1=7.3,
    )


def image(dc: dict[str, Any], frame: int) -> dict[str, Any]:
    """``AbstractCollect.store_image_in_lims`` (AC L671-700)."""
    template = dc["fileinfo"]["template"]
    return {
        "dataCollectionId": dc.get("collection_id"),
        "fileName": template % frame,
        "fileLocation": dc["fileinfo"]["directory"],
        "imageNumber": frame,
        "measuredIntensity": None,
        "synchrotronCurrent": 199.7,
        "machineMessage": "Uniform filling",
        "temperature": None,
        "jpegFileFullPath": f"/data/pyarch/mx/lyso/lyso_1_2_{frame:05d}.jpeg",
        "jpegThumbnailFileFullPath": f"/data/pyarch/mx/lyso/lyso_1_2_{frame:05d}.thumb.jpeg",
    }


def robot_action(session_id: str | None, sample_id: int, container_slot: int) -> dict[str, Any]:
    """``base_queue_entry.mount_sample`` after a successful load (QE L854-873)."""
    return {
        "actionType": "LOAD",
        "containerLocation": 3,
        "dewarLocation": container_slot,
        "sampleBarcode": "PIN-0042",
        "sampleId": sample_id,
        "sessionId": session_id,
        "startTime": _local(-120),
        "endTime": _local(-60),
        "status": "SUCCESS",
    }


def energy_scan(session_id: str | None, sample_id: int) -> dict[str, Any]:
    """An energy scan as ``AbstractEnergyScan`` and a site HO fill it (AL strips ``sample_reference``)."""
    return {
        "sessionId": session_id,
        "blSampleId": sample_id,
        "startTime": _local(-600),
        "endTime": _local(-540),
        "element": "Se",
        "edge": "K",
        "edgeEnergy": "K",
        "directory": "/data/visitor/mx/20261202/RAW_DATA/escan",
        "prefix": "lyso_escan",
        "startEnergy": 12.6,
        "endEnergy": 12.72,
        "transmissionFactor": 5.0,
        "exposureTime": 0.5,
        "fluorescenceDetector": "Vortex",
        "scanFileFullPath": "/data/pyarch/mx/escan/lyso_escan.raw",
        "choochFileFullPath": "/data/pyarch/mx/escan/lyso_escan.efs",
        "jpegChoochFileFullPath": "/data/pyarch/mx/escan/lyso_escan.png",
        "filename": "/data/visitor/mx/20261202/RAW_DATA/escan/lyso_escan.raw",
        "peakEnergy": 12.6601,
        "peakFPrime": -8.1,
        "peakFDoublePrime": 5.9,
        "inflectionEnergy": 12.6583,
        "inflectionFPrime": -10.2,
        "inflectionFDoublePrime": 3.1,
        "remoteEnergy": 12.71,
        "comments": "Se edge",
        "flux": 1.1e12,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
        "eroi_min": 11.0,
        "eroi_max": 12.0,
        "findattEnergy": 12.8,
        "atomic_nb": 34,
    }


def xrf_spectrum(session_id: str | None, sample_id: int) -> dict[str, Any]:
    """``AbstractXRFSpectrum.spectrum_info_dict`` of a finished spectrum (L99-125, L221-233)."""
    return {
        "sessionId": session_id,
        "blSampleId": sample_id,
        "exposureTime": 2.0,
        "filename": "/data/visitor/mx/20261202/RAW_DATA/xrf/lyso_xrf_1.dat",
        "scanFileFullPath": "/data/pyarch/mx/xrf/lyso_xrf_1.dat",
        "jpegScanFileFullPath": "/data/pyarch/mx/xrf/lyso_xrf_1.png",
        "annotatedPymcaXfeSpectrum": "/data/pyarch/mx/xrf/lyso_xrf_1.html",
        "fittedDataFileFullPath": "/data/pyarch/mx/xrf/lyso_xrf_1_peaks.csv",
        "startTime": _local(-300),
        "endTime": _local(-290),
        "beamTransmission": 1.5,
        "energy": 13.5,
        "flux": 9.5e11,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
    }


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else str(value)


def _plain(value: Any) -> Any:
    """JSON-able copies of what the adapter returned (pydantic models as dicts, tuples as lists)."""
    return json.loads(json.dumps(value, default=_json))


def visit(plan: dict[str, Any], client: Any, adapter: Any, steps: Steps) -> dict[str, Any]:
    """A whole visit, as MXCuBE makes it."""
    sample_id, slot = plan["sample_id"], plan["container_slot"]
    sessions = steps.run("get_sessions_by_username", adapter.get_sessions_by_username)
    found = sessions.sessions if sessions else []
    session_id = next((s.session_id for s in found if s.proposal_id == str(plan["proposal_id"])), None)
    # a second login the same day finds today's session instead of creating another
    steps.run("get_sessions_by_username_again", adapter.get_sessions_by_username)
    group = steps.run(
        "store_data_collection_group",
        adapter._store_data_collection_group,  # noqa: SLF001 - what TaskGroupQueueEntry.execute calls
        {
            "sessionId": session_id,
            "experimentType": "OSC",
            "actualContainerSlotInSC": slot,
            "actualSampleSlotInContainer": 3,
        },
    )
    dc = collection(session_id, group, sample_id)
    config = bl_config(plan["detector"])
    stored = steps.run("store_data_collection", adapter.store_data_collection, dc, config)
    collection_id, detector_id = stored if stored else (None, None)
    dc["collection_id"] = collection_id
    if detector_id:
        dc["detector_id"] = detector_id
    after_collect(dc, sample_id, slot)
    steps.run("update_data_collection", adapter.update_data_collection, copy.deepcopy(dc))
    images = [image(dc, frame) for frame in (1, 50, 100)]
    for i, one in enumerate(images):
        steps.run(f"store_image_{i}", adapter.store_image, one)
    dc["status"] = "Data collection successful"
    steps.run("finalize_data_collection", adapter.finalize_data_collection, copy.deepcopy(dc))
    steps.run("get_data_collection", adapter.get_data_collection, collection_id)
    # the task group's second collection: same group, same beamline config (now holding beamlineSetupId)
    first_setup = config.get("beamlineSetupId")
    second = collection(session_id, group, sample_id)
    second["fileinfo"] |= {"run_number": 3, "template": "lyso_1_3_%05d.cbf"}
    stored = steps.run("store_second_collection", adapter.store_data_collection, second, config)
    second["collection_id"] = stored[0] if stored else None
    after_collect(second, sample_id, slot)
    second["status"] = "Failed"
    steps.run("finalize_second_collection", adapter.finalize_data_collection, copy.deepcopy(second))
    robot = robot_action(session_id, sample_id, slot)
    steps.run("store_robot_action", adapter.store_robot_action, robot)
    scan = energy_scan(session_id, sample_id)
    stored_scan = steps.run("store_energy_scan", adapter.store_energy_scan, scan)
    scan_id = (stored_scan or {}).get("energyScanId")
    steps.run(
        "associate_bl_sample_and_energy_scan",
        adapter.associate_bl_sample_and_energy_scan,
        {"energyScanId": scan_id, "blSampleId": sample_id},
    )
    xrf = xrf_spectrum(session_id, sample_id)
    steps.run("store_xfe_spectrum", adapter.store_xfe_spectrum, xrf)
    sample = {
        "blSampleId": sample_id,
        "name": "lyso_1",
        "code": "PIN-0042",
        "lastKnownCentringPosition": " phi=10.0 kappa=0.0 sampx=0.1 sampy=0.2 phiy=0.3",
        "sampleName": "lyso_1",
        "containerCode": "puck-7",
    }
    steps.run("update_bl_sample", adapter.update_bl_sample, sample)
    steps.run("get_samples", adapter.get_samples, plan["proposal_id"])
    # refresh: the token is due, so the next call refreshes first (the client's own pre-emptive path)
    before = (client._access_token, client._refresh_token)  # noqa: SLF001
    client._token_expiry = datetime.now(UTC)  # noqa: SLF001
    steps.run("get_samples_after_refresh", adapter.get_samples, plan["proposal_id"])
    after = (client._access_token, client._refresh_token)  # noqa: SLF001
    # the access token may come back identical (same claims within one second); the refresh token must rotate
    steps.results["refresh"] = {"result": {"rotated": before[1] != after[1] and after[1] is not None}}
    return {
        "session_id": session_id,
        "group": group,
        "collection": dc,
        "bl_config": config,
        "setup_ids": [first_setup, config.get("beamlineSetupId")],
        "second_collection": second,
        "images": images,
        "robot_action": robot,
        "energy_scan": scan,
        "xrf": xrf,
        "sample": sample,
        "refresh_tokens": [before[1], after[1]],
    }


def outsider(plan: dict[str, Any], adapter: Any, steps: Steps) -> dict[str, Any]:
    """Someone else's adapter aiming at the victim's session, collection and sample."""
    session_id, sample_id = str(plan["session_id"]), plan["sample_id"]
    steps.run("get_sessions_by_username", adapter.get_sessions_by_username)
    steps.run(
        "store_data_collection_group",
        adapter._store_data_collection_group,  # noqa: SLF001
        {"sessionId": session_id, "experimentType": "OSC"},
    )
    steps.run("store_data_collection", adapter.store_data_collection, collection(session_id, None, sample_id))
    dc = collection(session_id, None, sample_id) | {"collection_id": plan["collection_id"], "status": "Failed"}
    steps.run("update_data_collection", adapter.update_data_collection, dc)
    steps.run("store_image", adapter.store_image, image(dc, 7))
    steps.run("store_robot_action", adapter.store_robot_action, robot_action(session_id, sample_id, 1))
    steps.run("store_energy_scan", adapter.store_energy_scan, energy_scan(session_id, sample_id))
    steps.run("store_xfe_spectrum", adapter.store_xfe_spectrum, xrf_spectrum(session_id, sample_id))
    steps.run("update_bl_sample", adapter.update_bl_sample, {"blSampleId": sample_id, "name": "stolen"})
    steps.run("get_samples", adapter.get_samples, plan["proposal_id"])
    return {}


def main() -> None:
    plan = json.load(sys.stdin)
    abstract = "mxcubecore.HardwareObjects.abstract"
    client_module = importlib.import_module(f"{abstract}.PyISPyBRestClient")
    adapter_module = importlib.import_module(f"{abstract}.PyISPyBDataAdapter")
    steps = Steps()
    client = client_module.PyISPyBRestClient(plan["rest_root"], timeout=20)
    adapter = adapter_module.PyISPyBDataAdapter(client, beamline_name=plan["beamline"], new_session_duration_days=2)
    sent: dict[str, Any] = {}
    steps.run("authenticate", client.authenticate, "", plan["token"])
    if plan["mode"] == "visit":
        sent = visit(plan, client, adapter, steps)
    else:
        sent = outsider(plan, adapter, steps)
    out = {
        "mxcubecore": importlib.metadata.version("mxcubecore"),
        "steps": {k: _plain(v) for k, v in steps.results.items()},
        "sent": _plain(sent),
    }
    with open(plan["out"], "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
