"""A PDF (and page images) of a report, printed by headless Chromium.

A board paper is often a PDF. The report's print styles (templates/report.html,
``@media print``) keep tables rows, figures and boxes whole on a page; Chromium's
``--print-to-pdf`` applies them exactly as a browser's "Save as PDF" would. Chromium is
found on the PATH (``chromium``, ``chromium-browser``, ``google-chrome``) or in
``$CSFLOW_CHROMIUM``; without it, a clear error says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChromiumMissing(RuntimeError):
    """No headless browser to print with."""


def find_chromium() -> str:
    configured = os.environ.get("CSFLOW_CHROMIUM")
    if configured:
        return configured
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing("no Chromium found to print the PDF: install it (Debian/Ubuntu: "
                          "apt-get install chromium) or set CSFLOW_CHROMIUM to its path")


def _chromium(args: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="csflow-chromium-") as profile:
        subprocess.run([find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", f"--user-data-dir={profile}", *args],
                       check=True, capture_output=True, timeout=180)


def print_to_pdf(html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` with its print styles (A4 landscape, no browser header)."""
    _chromium(["--no-pdf-header-footer", f"--print-to-pdf={Path(pdf).resolve()}",
               Path(html).resolve().as_uri()])
    if not Path(pdf).exists():
        raise RuntimeError(f"Chromium wrote no {pdf}")
    return Path(pdf)


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 2400) -> Path:
    """A screenshot of the top of the report as a browser shows it (screen styles)."""
    _chromium([f"--screenshot={Path(png).resolve()}", f"--window-size={width},{height}",
               "--hide-scrollbars", Path(html).resolve().as_uri()])
    return Path(png)
