"""The workshop app driven in a real headless browser (Debian's Chromium, via Playwright).

Load, pick structures, move a slider, see the numbers change, pin, export, and the
refusals (a value out of range, a bad uploaded file) with the app still answering.
Screenshots land in results/app/ for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import pytest
import yaml

from simulation.scenario import load_raw
from tests.app_helpers import ROOT, running_app

SHOTS = ROOT / "results" / "app"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def app_url():
    with running_app("--reps", "3") as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        yield pg
        browser.close()


def wait_answer(page, label: str | None, n: int = 2) -> None:
    """Wait until the answer to the current question has ``n`` paired replications."""
    if label is not None:
        page.wait_for_function("l => document.getElementById('whatif-label').textContent"
                               ".includes(l)", arg=label)
    page.wait_for_function("""n => { const s = document.getElementById('status').dataset;
        return s.job === s.asked && Number(s.n) >= n; }""", arg=n)


def cards(page) -> dict[str, list[str]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.card')]
        .map(c => [c.dataset.kpi, [...c.querySelectorAll('[data-role=value]')]
        .map(v => v.textContent)]))""")


def test_load_pick_move_pin_export(page, app_url):
    started = time.monotonic()
    page.goto(app_url)
    wait_answer(page, "As it stands", n=1)
    first_answer = time.monotonic() - started
    print(f"\nfirst answer in the browser (page load included): {first_answer:.1f} s")
    page.screenshot(path=str(SHOTS / "01-loaded.png"), full_page=True)
    assert page.locator(".card").count() >= 5

    # pick a second structure: its cards appear beside the base
    page.check("#compare-fsp")
    page.fill("#ctl-staff_pct", "20")
    page.dispatch_event("#ctl-staff_pct", "input")
    wait_answer(page, "staff +20%")
    before = cards(page)
    assert all(len(v) == 3 for v in before.values()), before  # base, baseline+, fsp+
    # the charts' one legend names the same three lines as the cards
    legend = page.locator("#chart-legend .legend-item").all_text_contents()
    assert len(legend) == 3 and "staff +20%" in legend[1], legend
    page.screenshot(path=str(SHOTS / "02-fsp-staff-plus-20.png"), full_page=True)
    page.click("#pin")
    page.wait_for_selector("#pins")

    # move a slider (the range itself, as a facilitator would): the numbers change
    page.locator("#ctl-staff_pct-range").fill("-20")
    wait_answer(page, "staff -20%")
    wait_answer(page, None, n=3)
    after = cards(page)
    changed = [k for k in after if after[k][1:] != before[k][1:]]
    assert changed, "moving the staff slider changed no card"
    # the base is the base: unchanged by the what-if (same seeds, same scenario)
    status = page.text_content("#status")
    assert "3 of 3" in status
    page.screenshot(path=str(SHOTS / "03-staff-minus-20.png"), full_page=True)
    page.click("#pin")
    page.wait_for_function("document.querySelectorAll('#pins th').length >= 5")
    page.screenshot(path=str(SHOTS / "04-pinboard.png"), full_page=True)

    with page.expect_download(timeout=120_000) as download:
        page.click("#export")
    target = SHOTS / "pinned-report.html"
    download.value.save_as(target)
    html = target.read_text(encoding="utf-8")
    assert "staff +20%" in html and "staff -20%" in html
    assert "<img" in html  # the report's figures are embedded


def test_out_of_range_refused_in_page_and_by_server(page, app_url):
    page.fill("#ctl-caseload_change", "40")
    page.dispatch_event("#ctl-caseload_change", "input")
    page.wait_for_function("document.getElementById('error').textContent"
                           ".includes('Caseload limit: must be between -6 and 6')")
    page.screenshot(path=str(SHOTS / "05-out-of-range.png"), full_page=True)
    request = urllib.request.Request(
        app_url + "/api/ask", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"base": "baseline", "whatif": {"caseload_change": 40}}).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert json.load(refused.value)["error"] == (
        "whatif.caseload_change: must be between -6 and 6, got 40")
    page.fill("#ctl-caseload_change", "0")
    page.dispatch_event("#ctl-caseload_change", "input")
    page.wait_for_function("document.getElementById('error').textContent === ''")


def test_bad_upload_gets_the_cli_message_and_a_good_one_is_offered(page, app_url, tmp_path):
    bad = b"name: broken\npopulation: -3\n"
    page.set_input_files("#upload", files=[{"name": "broken.yaml", "mimeType": "text/yaml",
                                            "buffer": bad}])
    page.wait_for_selector(".msg.bad")
    message = page.text_content("#upload-msg")
    assert "broken.yaml: population: Input should be greater than 0" in message
    page.screenshot(path=str(SHOTS / "06-bad-upload.png"), full_page=True)

    # the same message as `csflow validate` (minus the folder the file was in)
    import subprocess
    import sys

    (tmp_path / "broken.yaml").write_bytes(bad)
    cli = subprocess.run([sys.executable, "-m", "simulation", "validate", "broken.yaml"],
                         cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert cli.returncode == 2
    assert cli.stderr.strip().removeprefix("error: ") == message.strip()

    # the app keeps serving, and a good file joins the list
    raw = load_raw(ROOT / "configs" / "baseline.yaml") | {"name": "my_council"}
    page.set_input_files("#upload", files=[{"name": "my_council.yaml", "mimeType": "text/yaml",
                                            "buffer": yaml.safe_dump(raw).encode()}])
    page.wait_for_selector(".msg.ok")
    assert page.locator("#compare-my_council").is_checked()
    with urllib.request.urlopen(app_url + "/api/health", timeout=10) as res:
        assert json.load(res)["ok"]


def test_a_council_base_meets_the_structures_sized_to_it(page, app_url):
    """Pick the shipped Leicestershire council as the base and tick the hub structure:
    the hub is run on Leicestershire's demand ("leicestershire-hub"), paired against it."""
    page.goto(app_url)
    page.select_option("#base", "leicestershire")
    page.check("#compare-hub")
    wait_answer(page, None, n=1)
    page.wait_for_function("""() => [...document.querySelectorAll('.card .who')]
        .some(w => w.textContent.startsWith('leicestershire-hub'))""")
    names = page.evaluate("""() => [...new Set([...document.querySelectorAll('.card .who')]
        .map(w => w.textContent))]""")
    assert names[0] == "leicestershire (base)", names
    page.screenshot(path=str(SHOTS / "07-council-under-hub.png"), full_page=True)
