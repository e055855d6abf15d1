"""The dashboard in a real browser: JupyterLab, a notebook showing ``%migrate ui``, Chromium.

One JupyterLab server (own port, token and config dirs) serves a notebook that
loads nbmigrate, writes a revision and shows the dashboard. Playwright, driving
Debian's Chromium, runs it, previews the upgrade and applies it; the test checks
the database changed and saves a screenshot (copied to docs/dashboard.png when
NBMIGRATE_SCREENSHOT=1). Outside CI it skips when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from helpers import MODEL_CELL, ROOT, columns, version

CHROMIUM = Path("/usr/bin/chromium")
# .ci/run sets NBMIGRATE_REQUIRE_SERVERS=1; CI services set CI=true: there it must run
IN_CI = os.environ.get("CI") == "true" or os.environ.get("NBMIGRATE_REQUIRE_SERVERS") == "1"
DOCS = ROOT / "docs"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
KERNEL = "Python 3 (ipykernel)"


def need(condition: bool, reason: str) -> None:
    """Skip on a developer machine without the browser tools; fail in CI."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path) -> None:
    cells = [
        "%load_ext nbmigrate",
        MODEL_CELL.strip(),
        "%migrate init migrations --url sqlite:///app.db",
        "%migrate revision --autogenerate -m 'create users' --rev-id aaaa0001",
        "ui = %migrate ui\nui",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": KERNEL,
                                 "language": "python"}
    nbformat.write(nb, path)


def lab_settings(directory: Path) -> None:
    """No news fetching, no notebook windowing (cells outside the view stay rendered)."""
    for plugin, settings in (("apputils-extension/notification", {"fetchNews": "false"}),
                             ("notebook-extension/tracker", {"windowingMode": "none"})):
        path = directory / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on a free port; yields (url of the notebook, its directory)."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    need(_importable("playwright"), "playwright is not installed (pip install playwright)")
    need(_importable("jupyterlab"), "jupyterlab is not installed (pip install jupyterlab)")
    root, config = tmp_path / "root", tmp_path / "jupyter"
    root.mkdir()
    write_notebook(root / "dashboard.ipynb")
    lab_settings(config / "settings")
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config / "config"),
           "JUPYTER_DATA_DIR": str(config / "data"), "JUPYTER_RUNTIME_DIR": str(config / "run"),
           "JUPYTERLAB_SETTINGS_DIR": str(config / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(config / "workspaces"), "JUPYTER_PLATFORM_DIRS": "1"}
    env.pop("NBMIGRATE_URL", None)
    log = (tmp_path / "jupyterlab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n"
                                + (tmp_path / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.2)
        yield f"{base}/lab/tree/dashboard.ipynb?token={token}", root
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def button(widget, label: str):
    """An ipywidgets button by its label (its icon adds no text)."""
    return widget.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_preview_and_apply_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, root = lab
    database = f"sqlite:///{root / 'app.db'}"
    shot = tmp_path / "dashboard.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.get_by_text(f"{KERNEL} | Idle").wait_for()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.get_by_text("Run All Cells", exact=True).click()

            dashboard = page.locator(".nbm-dashboard")
            dashboard.locator(".nbm-status", has_text="ready: default").wait_for()
            dashboard.locator(".lm-TabBar-tab", has_text="Upgrade / downgrade").click()
            button(dashboard, "Preview").click()
            dashboard.locator(".nbm-status", has_text="1 revision(s) to upgrade").wait_for()
            assert "create_table" in dashboard.inner_text()
            assert version(database) == set()  # the preview changed nothing

            button(dashboard, "Apply").click()
            dashboard.locator(".nbm-status", has_text="upgraded default").wait_for()
            dashboard.locator(".nbm-header", has_text="up to date").wait_for()
            dashboard.get_by_text("upgrade head: done").wait_for()
            dashboard.screenshot(path=str(shot))
        finally:
            browser.close()

    assert version(database) == {"aaaa0001"}
    assert columns(database, "users") == {"id", "name"}
    assert shot.stat().st_size > 10_000
    if os.environ.get("NBMIGRATE_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / "dashboard.png")
