"""The dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) over the embedded default with
its demo data: sign in, every plot drawn for the sessions that have such data; screenshots kept as artefacts."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from app.cli.embedded import free_port

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
            page.screenshot(path=str(ARTEFACTS / f"dashboard-{session}.png"), full_page=True)
        browser.close()
    assert errors == []
