"""py-ispyb-ui, built unchanged, driven in headless Chromium against the service on both flavours: every page and
both forms, every API call recorded with its status. Skipped unless ISPYB_UI_BUILD names a build (a directory with
index.html; see tests/client/README.md). Each run writes the calls to /tmp/ui-calls-<flavour>.txt."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.client import servers
from tests.client.record import PREFIX, Record
from tests.client.seed import Seeded

BUILD = Path(os.environ.get("ISPYB_UI_BUILD", "/nonexistent"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

#: how long a page may take to settle (no request for 500 ms), and how long a click's answer may take, in ms
SETTLE, ANSWER = 20_000, 10_000

pytestmark = pytest.mark.skipif(
    not (BUILD / "index.html").is_file(), reason="ISPYB_UI_BUILD does not name a built py-ispyb-ui"
)


@pytest.fixture(params=["official", "dls"])
def stack(request: pytest.FixtureRequest, mongo_url: str) -> Iterator[servers.Stack]:
    flavour: str = request.param
    root = Path(tempfile.mkdtemp(prefix=f"ispyb-ui-{flavour}-")).resolve()
    try:
        with servers.database(flavour, root / "data") as (url, seeded):
            log = root / "api.log"
            with servers.api(url, mongo_url, url.rsplit("/", 1)[1], root, log), servers.ui(BUILD):
                yield servers.Stack(flavour, seeded, log)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _visit(page: Page, record: Record, label: str, path: str) -> None:
    record.page = label
    page.goto(f"{servers.UI}{path}")
    _settle(page)
    record.shoot(page)


def _settle(page: Page) -> None:
    try:
        page.wait_for_load_state("networkidle", timeout=SETTLE)
    except Exception:  # noqa: BLE001 - a page that polls still counts: its calls are recorded
        pass
    page.wait_for_timeout(300)


def _login(pw: Playwright, record: Record, login: str) -> tuple[BrowserContext, Page]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(ANSWER)
    record.watch(context)
    page = context.new_page()
    record.page = f"login {login}"
    page.goto(servers.UI)
    page.get_by_placeholder("Username").fill(login)
    page.get_by_placeholder("Password").fill("x")
    page.get_by_role("button", name="Login").click()
    page.get_by_placeholder("Username").wait_for(state="detached", timeout=ANSWER)
    _settle(page)
    return context, page


def _click_all(page: Page, record: Record, label: str, selector: str) -> int:
    """Click each element matching ``selector`` (text headers that open results); how many were clicked."""
    record.page = label
    found = page.locator(selector)
    count = found.count()
    for i in range(count):
        found.nth(i).click()
        _settle(page)
    return count


#: react-bootstrap-icons draw bare <svg>s: the icons are told apart by their paths' first command
FILE_ICON, VIEW_ICON, DOWNLOAD_ICON, NEXT_ICON = (
    f'path[d^="{d}"]' for d in ("M14 4.5V14", "M11.742 10.344", "M.5 9.9", "M6 12.796V3.204")
)


def _attachments(page: Page, record: Record, label: str) -> None:
    """Open each enabled attachments list, view the first file in the UI's viewer, then download it (the link is
    signed through POST /user/sign first)."""
    record.page = label
    buttons = page.locator(f"button:not([disabled]):has({FILE_ICON})")
    for i in range(buttons.count()):
        buttons.nth(i).click()
        _settle(page)
        dialog = page.locator(".modal.show").last
        views = dialog.locator(f"button:has({VIEW_ICON})")
        if views.count():
            views.first.click()
            _settle(page)
            page.keyboard.press("Escape")
            page.wait_for_timeout(400)
        links = dialog.locator(f"a:has({DOWNLOAD_ICON})")
        if links.count():
            try:
                with page.expect_download(timeout=ANSWER):
                    links.first.click()
            except PlaywrightError:  # the browser showed the file instead: its call is recorded all the same
                pass
            _settle(page)
        if not page.url.startswith(servers.UI):
            page.go_back()
            _settle(page)
        _close_dialogs(page)


def _close_dialogs(page: Page) -> None:
    """Escape from every open dialog (a file viewer opens over the attachments' list)."""
    for _ in range(3):
        dialogs = page.locator(".modal.show")
        if not dialogs.count():
            return
        closers = dialogs.last.locator(".btn-close, button:text-is('Cancel')")
        if closers.count():
            closers.first.click()
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(400)


#: what the driver types into a required field left empty: by RJSF's field type, e-mail by name, or input type
FILLS = {"date": "2026-12-10", "datetime-local": "2026-12-10T10:00", "tel": "+33 1 23 45 67 89"}


def _fill_form(page: Page, record: Record, label: str, button: str) -> None:
    """Fill the RJSF form's required fields left empty and its empty choices, and submit it; a form the
    UI's own validation keeps from sending is noted with the errors it lists."""
    record.page = label
    form = page.locator("form").first
    form.wait_for()
    for box in form.locator("input[required]:visible, textarea[required]:visible").all():
        if box.input_value():
            continue
        kind = box.evaluate("e => e.closest('.field').className")  # RJSF: field-string, field-integer…
        name = (box.get_attribute("id") or "").lower()
        if "field-integer" in kind or "field-number" in kind:
            box.fill("1")
        else:
            box.fill("contact@lab.test" if "mail" in name else FILLS.get(box.get_attribute("type") or "", "ui"))
    for choice in form.locator("select:visible").all():
        options = [o.get_attribute("value") for o in choice.locator("option").all()]
        if not choice.input_value() and any(options):
            choice.select_option(next(o for o in options if o))
    record.shoot(page)
    sent = len(record.calls)
    page.get_by_role("button", name=button).click()
    _settle(page)
    if not any(c.method in ("POST", "PATCH") for c in record.calls[sent:]):
        errors = page.locator(".card.border-danger .list-group-item").all_inner_texts()
        record.shoot(page)
        if errors == [".proposalId is a required property"]:
            record.ui_faults.append(
                f"{label}: not sent, {errors[0]} (the UI never sets it: useProposalInfo reads "
                "the route parameter :proposalName, its routes name it :proposal)"
            )
        else:
            record.stuck.append(f"{label}: not sent, the form lists {errors}")


def _edit_inline(page: Page, record: Record, label: str) -> None:
    """Edit the first field of an inline-editable view (click, type, its save button, which the UI disables while
    the field has errors): a PATCH. Enter is no help: the form theme's text widget drops the UI's key handler."""
    record.page = label
    page.locator('button[aria-label^="edit-"]').first.click()
    field = page.locator(".editable-form :is(input, textarea):focus")
    field.fill("edited by the driver")
    with page.expect_response(lambda r: r.request.method == "PATCH" and PREFIX in r.url):
        page.locator(".editable-form button.btn-success").first.click()
    _settle(page)


def _samples_editor(page: Page, record: Record) -> None:
    """The samples list's edit mode: save a sample unchanged (PATCH), remove the one never collected (DELETE), and
    create one in the new sample dialog (its lists of proteins, components and concentration types): a POST."""
    record.page = "samples: edit"
    page.get_by_role("button", name="Edit", exact=True).first.click()
    page.locator("td").get_by_role("button", name="Edit").first.click()
    with page.expect_response(lambda r: r.request.method == "PATCH" and PREFIX in r.url):
        page.locator(".modal.show").get_by_role("button", name="Submit").click()
    _settle(page)
    _close_dialogs(page)
    record.page = "samples: remove"
    with page.expect_response(lambda r: r.request.method == "DELETE" and PREFIX in r.url):
        page.get_by_role("button", name="Remove").first.click()
    _settle(page)
    record.page = "samples: new sample dialog"
    page.get_by_role("button", name="Create new").click()
    _settle(page)
    dialog = page.locator(".modal.show")
    dialog.locator("input[type=text]").first.fill("driven")
    record.shoot(page)
    with page.expect_response(lambda r: r.request.method == "POST" and PREFIX in r.url):
        dialog.get_by_role("button", name="Submit").click()
    _settle(page)
    _close_dialogs(page)


def _walk_scientist(pw: Playwright, record: Record, seeded: Seeded) -> None:
    data = seeded.data
    context, page = _login(pw, record, f"sci_a_{record.flavour}")
    proposal, session = data.proposals["a"], data.sessions["a"]
    base = f"/proposals/{proposal}"
    for label, path in (
        ("home", "/"),
        ("calendar", "/calendar"),
        ("proposals", "/proposals/list"),
        ("sessions", f"{base}/sessions"),
        ("proposal calendar", f"{base}/calendar"),
        ("events", f"{base}/sessions/{session}"),
    ):
        _visit(page, record, label, path)
    with record.step("events: open results"):
        _click_all(page, record, "events: processing", "div.processing div[style*='cursor']")
        _click_all(page, record, "events: workflow", "div.workflow div[style*='cursor']")
    with record.step("events: attachments"):
        _attachments(page, record, "events: attachments")
    with record.step("events: filters"):
        _click_all(page, record, "events: filters", ".filter .btn")
    _visit(page, record, "event group", f"{base}/sessions/{session}?dataCollectionGroupId={data.groups['a']}")
    _visit(page, record, "event (one collection)", f"{base}/sessions/{session}?dataCollectionId={seeded.single_dc}")
    with record.step("event: open results"):
        _click_all(page, record, "event: processing", "div.processing div[style*='cursor']")
    with record.step("event: attachments"):
        _attachments(page, record, "event: attachments")
    _visit(page, record, "image viewer", f"{base}/sessions/{session}/images/{data.dcs['a0']}")
    with record.step("image viewer: next image"):
        record.page = "image viewer: image 2"
        page.locator(f"button:has({NEXT_ICON})").first.click(timeout=ANSWER)
        _settle(page)
    for label, path in (
        ("sample changer", f"{base}/sessions/{session}/samples"),
        ("session stats", f"{base}/stats/{session}"),
        ("samples", f"{base}/samples"),
        ("sample", f"{base}/samples/{data.samples['a']}"),
        ("proteins", f"{base}/proteins"),
        ("protein", f"{base}/proteins/{data.proteins['a']}"),
        ("lab contacts", f"{base}/contacts"),
        ("lab contact", f"{base}/contacts/{seeded.lab_contact}"),
        ("shipments", f"{base}/shipments"),
        ("shipment", f"{base}/shipments/{data.shippings['a']}"),
    ):
        _visit(page, record, label, path)
        if label == "samples":
            with record.step("samples: edit, remove, create"):
                _samples_editor(page, record)
        if label in EDITABLE:
            with record.step(f"{label}: edit"):
                _edit_inline(page, record, f"{label}: edit")
    for label, path, button in (
        ("new lab contact", f"{base}/contacts/new", "Create Contact"),
        ("new shipment", f"{base}/shipments/new", "Create Shipment"),
    ):
        _visit(page, record, label, path)
        with record.step(f"{label}: fill and submit"):
            _fill_form(page, record, f"{label}: submit", button)
    context.browser.close()  # type: ignore[union-attr]


#: the views whose fields the UI edits in place (PATCH); its sample and protein views have theirs commented out
EDITABLE = ("lab contact", "shipment")


def _walk_manager(pw: Playwright, record: Record) -> None:
    context, page = _login(pw, record, f"manager_{record.flavour}")
    _visit(page, record, "admin options", "/admin/options")
    with record.step("admin options: save"):
        record.page = "admin options: save"
        page.locator("#root_motd").fill("Changed by the UI driver")
        with page.expect_response(lambda r: r.request.method == "PATCH" and PREFIX in r.url):
            page.get_by_role("button", name="Save Options").click()
        _settle(page)
    context.browser.close()  # type: ignore[union-attr]


def _walk_staff(pw: Playwright, record: Record) -> None:
    context, page = _login(pw, record, f"staff_{record.flavour}")
    _visit(page, record, "staff home", "/")
    _visit(page, record, "beamline overview", "/beamline/tb01")
    context.browser.close()  # type: ignore[union-attr]


#: calls (method, path without a trailing id) the walk must have made and had answered: a page that draws nothing
#: where the seed has something to show makes none
SHOWN = {
    ("GET", path)
    for path in (
        "/processings/auto-integrations",
        "/processings/screenings",
        "/processings/attachments",
        "/datacollections/attachments",
        "/datacollections/images/",
        "/datacollections/images/diffraction/",
        "/data/images",
        "/data/images/header",
        "/data/images/histogram",
        "/stats/hourlies",
        "/stats/errors",
        "/shippings/",
        "/labcontacts/",
        "/options",
    )
} | {("POST", "/user/sign"), ("PATCH", "/options")}
EXPECTED = {
    "official": SHOWN | {("GET", "/datacollections/workflows/steps"), ("GET", "/datacollections/workflows/steps/")},
    "dls": SHOWN | {("GET", "/processings")},  # Diamond's ProcessingJob: the session page's "Auto Processing"
}


def test_every_page_and_form(stack: servers.Stack) -> None:
    record = Record(stack.flavour, BUILD)
    shutil.rmtree(Path(tempfile.gettempdir()) / f"ui-shots-{stack.flavour}", ignore_errors=True)
    try:
        with sync_playwright() as pw:
            _walk_scientist(pw, record, stack.seeded)
            _walk_staff(pw, record)
            _walk_manager(pw, record)
    finally:
        out = record.write()
    print(out.read_text())
    called = {(c.method, c.path.split("?")[0].rstrip("0123456789")) for c in record.calls if c.status == 200}
    missing = EXPECTED[stack.flavour] - called
    assert not missing, f"the pages never showed what makes these calls: {sorted(missing)}; see {out}"
    assert not record.faults() and not record.page_errors and not record.stuck, f"see {out}"
