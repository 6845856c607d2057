"""What the UI driver records: every API call with the page that made it and its status, the pages' errors, the
steps it could not take; written to /tmp/ui-calls-<flavour>.txt, with screenshots in /tmp/ui-shots-<flavour>/."""

import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response
from playwright.sync_api import Error as PlaywrightError

from tests.client import servers

PREFIX = f"{servers.API}/ispyb/api/v1"


@dataclass
class Call:
    page: str
    method: str
    path: str
    status: int | str
    #: for an error: what was sent and what came back (their first 600 characters)
    detail: str = ""


@dataclass
class Record:
    """Every API call of the walk, and the pages' errors."""

    flavour: str
    build: Path
    page: str = "login"
    calls: list[Call] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    #: steps the driver could not take (a form that never rendered, a button never shown), with the reason
    stuck: list[str] = field(default_factory=list)
    #: the UI's own faults, seen against py-ispyb as well (noted, not failed)
    ui_faults: list[str] = field(default_factory=list)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Run one step of the walk; if it cannot be taken, note why and go on with the next."""
        try:
            yield
        except PlaywrightError as e:
            self.stuck.append(f"{label}: {str(e).splitlines()[0]}")

    def shoot(self, page: Page) -> None:
        """A screenshot of the page as it stands, /tmp/ui-shots-<flavour>/<n> <page>.png."""
        shots = Path(tempfile.gettempdir()) / f"ui-shots-{self.flavour}"
        shots.mkdir(exist_ok=True)
        page.screenshot(
            path=shots / f"{len(list(shots.iterdir())):02d} {self.page.replace('/', ' ')}.png", full_page=True
        )

    def watch(self, context: BrowserContext) -> None:
        context.on("response", self._response)
        context.on("requestfailed", self._failed)
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("pageerror", lambda e: self.page_errors.append(f"{self.page}: {e}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        """An error on the console; RJSF's "Form validation failed" with the fields and what it wanted."""
        if message.type != "error":
            return
        text = message.text
        if text.startswith("Form validation failed") and len(message.args) > 1:
            errors = message.args[1].json_value()
            text += " " + json.dumps([f"{e.get('property')}: {e.get('message')}" for e in errors])
        self.console_errors.append(f"{self.page}: {text}")

    def _response(self, response: Response) -> None:
        request = response.request
        if request.url.startswith(PREFIX) and request.method != "OPTIONS":
            call = Call(self.page, request.method, _path(request.url), response.status)
            if response.status >= 400:
                call.detail = f"sent {(request.post_data or '')[:600]} answered {response.text()[:600]}"
            self.calls.append(call)

    def _failed(self, request: Request) -> None:
        if request.url.startswith(PREFIX):
            path, failure = _path(request.url), request.failure or "failed"
            # a signed download ends the navigation that fetched it (the browser saves the file): not a fault
            status = "downloaded" if "ERR_ABORTED" in failure and "onetime=" in path else f"failed ({failure})"
            self.calls.append(Call(self.page, request.method, path, status))

    def faults(self) -> list[Call]:
        """Calls answered 4xx/5xx or never answered."""
        return [c for c in self.calls if c.status != "downloaded" and (isinstance(c.status, str) or c.status >= 400)]

    def write(self) -> Path:
        """The calls per page, a summary (method, path without ids' values, status: count) and the errors."""
        out = Path(tempfile.gettempdir()) / f"ui-calls-{self.flavour}.txt"
        lines = [f"# py-ispyb-ui on the {self.flavour} flavour ({self.build})", "", "## calls, in order"]
        lines += [f"{c.page}\t{c.method} {c.path} -> {c.status}" for c in self.calls]
        summary = Counter((c.method, _shape(c.path), c.status) for c in self.calls)
        lines += ["", "## summary"] + [f"{m} {p} -> {s}  x{n}" for (m, p, s), n in sorted(summary.items(), key=str)]
        lines += ["", "## failures"] + [
            f"{c.page}\t{c.method} {c.path} -> {c.status} {c.detail}" for c in self.faults()
        ]
        lines += ["", "## steps not taken"] + self.stuck + ["", "## the UI's own faults"] + self.ui_faults
        lines += ["", "## page errors"] + self.page_errors + ["", "## console errors"] + self.console_errors
        out.write_text("\n".join(lines) + "\n")
        return out


def _path(url: str) -> str:
    """A call's path and query under the API's prefix, a one-time token's value left out."""
    return re.sub(r"onetime=[^&]+", "onetime=…", url[len(PREFIX) :])


def _shape(path: str) -> str:
    """A call's path with numbers replaced, so calls to the same route count together."""
    return re.sub(r"(?<=[/=])\d+", "N", path)
