"""The dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) over the embedded default with
its demo data: sign in, every plot drawn for the sessions that have such data; screenshots kept as artefacts."""

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from app.cli.embedded import free_port
from schemas.times import local_now

CLI = str(Path(sys.executable).parent / "ispyb-hybrid")
ARTEFACTS = Path(__file__).resolve().parents[1] / "test-artefacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PLOTS = {
    "MX1-3": ["em-ctf", "em-motion", "em-ice", "em-particles"],
    "MX1-2": ["mx-collections", "mx-shells", "saxs"],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> object:
    home = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")}
    with open(home / "serve.log", "wb") as log:
        process = subprocess.Popen([CLI, "serve", "--port", str(port)], cwd=home, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ispyb/api/v1/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    else:
        raise AssertionError((home / "serve.log").read_text())
    yield base
    process.send_signal(signal.SIGINT)
    process.wait(30)


#: the column of the summary's techniques table holding the share each demo session has: auto-processed (MX),
#: motion-corrected (EM)
SHARE = {"MX1-2": 3, "MX1-3": 4}


def _techniques(base: str, session_id: str) -> list[list[str]]:
    """The techniques table's rows as REST's GET /stats/sessions/{id} gives them."""
    stats = httpx.get(f"{base}/ispyb/api/v1/stats/sessions/{session_id}", headers=_as(base, "alice"))
    assert stats.status_code == 200, stats.text

    def share(value: float | None) -> str:
        return "–" if value is None else f"{math.floor(100 * value + 0.5)} %"  # JavaScript's Math.round

    def number(value: float | None) -> str:
        return "–" if value is None else str(int(value)) if float(value).is_integer() else repr(value)

    return [
        [name.upper(), str(t["datacollections"]), str(t["images"]), share(t["autoProcessedShare"]),
         share(t.get("motionCorrected")), number(t["bestResolution"] if t["bestResolution"] is not None
                                                 else t.get("bestCtfResolution"))]
        for name, t in sorted(stats.json()["techniques"].items())
    ]  # fmt: skip


def _drawn(page: Page, plot: str) -> bool:
    return page.locator(f"#{plot} svg.main-svg").count() > 0


def test_dashboard_signs_in_and_draws_each_plot(served: str) -> None:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (the test command installs it)"
    ARTEFACTS.mkdir(exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1700})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        calls: list[str] = []
        page.on("request", lambda r: calls.append(f"{r.method} {r.url.split('?')[0]}") if "/api/v1/" in r.url else None)
        page.goto(f"{served}/dashboard")
        page.fill("#login-name", "nobody-at-all")
        page.click("#login button")
        page.wait_for_selector("#message .error")
        assert "refused" in page.inner_text("#message")
        page.fill("#login-name", "alice")
        page.click("#login button")
        page.wait_for_selector("#session option", state="attached")
        assert page.input_value("#proposal") == "MX1"
        for session, plots in PLOTS.items():
            value = page.locator("#session option", has_text=session).get_attribute("value")
            assert value is not None
            calls.clear()
            page.select_option("#session", value)
            for plot in plots:
                drawn = f"document.querySelector('#{plot} svg.main-svg') !== null"
                settled = f"document.getElementById('{plot}-status').textContent === ''"
                page.wait_for_function(f"{drawn} && {settled}", timeout=20_000)
            others = [p for other, ps in PLOTS.items() if other != session for p in ps]
            for plot in others:
                page.wait_for_function(f"document.getElementById('{plot}-status').textContent.startsWith('No data')")
                assert not _drawn(page, plot)
            page.wait_for_function("document.getElementById('summary').textContent.includes('technique')")
            assert "data collection(s)" in page.inner_text("#summary")
            shown = page.eval_on_selector_all(
                "#techniques tr", "rows => rows.slice(1).map((r) => [...r.cells].map((c) => c.textContent))"
            )
            assert shown == _techniques(served, value)  # the shares processed, as REST computes them
            assert any(row[SHARE[session]] != "–" for row in shown), shown  # the demo data has some
            # the summary and the histograms and time series: one GraphQL query, no REST statistics call
            assert calls.count(f"POST {served}/ispyb/api/v1/graphql") == 1
            assert not [c for c in calls if "/stats/" in c]
            page.screenshot(path=str(ARTEFACTS / f"dashboard-{session}.png"), full_page=True)
        browser.close()
    assert errors == []


def _as(base: str, login: str) -> dict[str, str]:
    r = httpx.post(f"{base}/ispyb/api/v1/auth/login", json={"plugin": "dummy", "login": login, "password": "demo"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _session(base: str, staff: dict[str, str], ends_in: timedelta) -> str:
    """A session of MX1 on i03 that started an hour ago and ends ``ends_in`` from now: its name (e.g. MX1-4)."""
    proposal = httpx.get(f"{base}/ispyb/api/v1/proposals/MX1", headers=staff).json()["proposalId"]
    now = local_now().replace(microsecond=0)
    body = {"proposalId": proposal, "beamLineName": "i03", "startDate": str(now - timedelta(hours=1)),
            "endDate": str(now + ends_in)}  # fmt: skip
    r = httpx.post(f"{base}/ispyb/api/v1/sessions", json=body, headers=staff)
    assert r.status_code == 201, r.text
    return f"MX1-{r.json()['visit_number']}"


def _robot_action(base: str, staff: dict[str, str], session_id: str, message: str) -> None:
    body = {"sessionId": session_id, "actionType": "LOAD", "status": "SUCCESS", "message": message}
    r = httpx.post(f"{base}/ispyb/api/v1/events/robot-action", json=body, headers=staff)
    assert r.status_code == 201, r.text


def _pick(page: Page, session: str) -> str:
    value = page.locator("#session option", has_text=session).get_attribute("value")
    assert value is not None
    page.select_option("#session", value)
    return value


def test_the_timeline_pages_and_follows_a_running_session(served: str) -> None:
    staff = _as(served, "mxstaff")
    running, ending = _session(served, staff, timedelta(hours=1)), _session(served, staff, timedelta(seconds=15))
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1700})
        page.add_init_script("window.timelineRefreshMs = 500")
        reads: list[str] = []
        page.on("request", lambda r: reads.append(r.url) if "/timeline" in r.url else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{served}/dashboard")
        page.fill("#login-name", "alice")
        page.click("#login button")
        page.wait_for_selector("#session option", state="attached")

        # a finished session with many collections: 25 events, then 25 more, newest first, each once
        _pick(page, "MX1-2")
        page.wait_for_function("document.querySelectorAll('#timeline li').length === 25")
        assert page.inner_text("#timeline-live") == ""
        page.click("#timeline-more")
        page.wait_for_function("document.querySelectorAll('#timeline li').length === 50")
        times = page.eval_on_selector_all("#timeline time", "ts => ts.map((t) => t.dateTime)")
        assert times == sorted(times, reverse=True)
        listed = page.eval_on_selector_all("#timeline li", "ls => ls.map((l) => l.dataset.type + l.dataset.id)")
        assert len(set(listed)) == 50
        before = len(reads)
        page.wait_for_timeout(1500)
        assert len(reads) == before  # not running: never refreshed

        # a running session: what happens shows up without reloading the page
        session_id = _pick(page, running)
        page.wait_for_function("document.getElementById('timeline-status').textContent.startsWith('Nothing')")
        assert "live" in page.inner_text("#timeline-live")
        _robot_action(served, staff, session_id, "first")
        page.wait_for_function("document.querySelectorAll('#timeline li').length === 1", timeout=10_000)
        _robot_action(served, staff, session_id, "second")
        page.wait_for_function("document.querySelectorAll('#timeline li').length === 2", timeout=10_000)
        kinds = page.eval_on_selector_all("#timeline li", "ls => ls.map((l) => l.dataset.type)")
        assert kinds == ["robotAction", "robotAction"]
        assert all("Robot LOAD SUCCESS" in t for t in page.locator("#timeline li").all_inner_texts())
        page.screenshot(path=str(ARTEFACTS / "dashboard-timeline.png"), full_page=True)

        # a session that ends: the refresh stops once it has
        _pick(page, ending)
        page.wait_for_function("document.getElementById('timeline-live').textContent.includes('live')")
        page.wait_for_function("document.getElementById('timeline-live').textContent === ''", timeout=30_000)
        before = len(reads)
        page.wait_for_timeout(1500)
        assert len(reads) == before
        browser.close()
    assert errors == []
