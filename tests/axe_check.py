"""Run axe-core on rendered reports in Debian's headless chromium (the accessibility tests).

axe-core comes from the npm registry: ``.ci/run`` installs it into ``.cache/node`` of the
checkout (git-ignored); ``MENTOREVAL_AXE_JS`` may point at another ``axe.min.js``. Without
chromium, playwright or axe-core the tests that call :func:`axe_violations` are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
AXE_JS = REPO / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> Path | None:
    """The ``axe.min.js`` to inject, or ``None`` when it is not installed."""
    path = Path(os.environ.get("MENTOREVAL_AXE_JS") or AXE_JS)
    return path if path.is_file() else None


def axe_violations(pages: Iterable[Path]) -> dict[str, list[str]]:
    """Page name → axe-core violations (``"rule-id (impact): help"``), all rules but the
    experimental ones, each page at a desktop width. Skips the calling test when chromium,
    playwright or axe-core is missing."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    script = axe_script()
    if script is None:
        pytest.skip(
            "axe-core is not installed (.ci/run: npm install --prefix .cache/node axe-core)"
        )
    found: dict[str, list[str]] = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            for page_path in pages:
                page = browser.new_page(viewport={"width": 1280, "height": 1600})
                page.goto(Path(page_path).resolve().as_uri(), wait_until="load")
                page.add_script_tag(path=str(script))
                result = page.evaluate(
                    "async () => await axe.run(document, {resultTypes: ['violations']})"
                )
                found[Path(page_path).name] = [
                    f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s)"
                    for v in result["violations"]
                ]
                page.close()
        finally:
            browser.close()
    return found
