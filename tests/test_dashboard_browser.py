"""The dashboard in a real browser: JupyterLab Light and Dark, 900 px wide, Chromium.

One JupyterLab server (own port, token and config dirs) serves, for each theme, a
notebook that loads nbmigrate, writes a revision, draws ``%migrate graph`` and shows
the dashboard. The theme is set in the server's settings file before the page
loads. Playwright, driving Debian's Chromium in a 900 x 800 window (the file
browser open), runs the notebook, previews the upgrade and applies it. The test
checks the database changed; reads the colours the page computes: the graph's
revision ids and messages against their background (WCAG contrast), and the
current revision against the data-loss and warning colours; checks that every
button of the dashboard lies inside the window; and saves a screenshot (copied to
docs/dashboard.png and docs/dashboard-dark.png when NBMIGRATE_SCREENSHOT=1); then
runs the dashboard's cell again and checks the kernel was told the old view is gone
(the old dashboard is ``hidden``, so it stops following the session). Outside
CI it skips when Chromium or Playwright is missing.
"""

from __future__ import annotations

import colorsys
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
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers import MODEL_CELL, ROOT, columns, version, wcag_contrast

from nbmigrate.display import styles

CHROMIUM = Path("/usr/bin/chromium")
# .ci/run sets NBMIGRATE_REQUIRE_SERVERS=1; CI services set CI=true: there it must run
IN_CI = os.environ.get("CI") == "true" or os.environ.get("NBMIGRATE_REQUIRE_SERVERS") == "1"
DOCS = ROOT / "docs"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
KERNEL = "Python 3 (ipykernel)"
WIDTH, HEIGHT = 900, 800  # a laptop's half screen: the file browser stays open
THEMES = {"light": ("JupyterLab Light", "dashboard.png"),
          "dark": ("JupyterLab Dark", "dashboard-dark.png")}
REVISION = "aaaa0001"


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
        f"%migrate revision --autogenerate -m 'create users' --rev-id {REVISION}",
        "%migrate graph",
        "ui = %migrate ui\nshown = [*globals().get('shown', []), ui]\nui",
        "print('views:', [d._view_count for d in shown], 'hidden:', [d.hidden for d in shown])",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": KERNEL,
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def lab_settings(directory: Path, theme: str = "JupyterLab Light") -> None:
    """No news fetching, no notebook windowing (cells outside the view stay rendered), and
    the theme; the server reads these files again for each page it serves."""
    for plugin, settings in (("apputils-extension/notification", {"fetchNews": "false"}),
                             ("notebook-extension/tracker", {"windowingMode": "none"}),
                             ("apputils-extension/themes", {"theme": theme})):
        path = directory / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


@dataclass
class Lab:
    """A running JupyterLab server."""

    base: str
    token: str
    root: Path
    settings: Path

    def open(self, theme: str) -> str:
        """The theme's notebook, in a workspace of its own (no tab of the other theme's),
        with ``theme`` chosen."""
        lab_settings(self.settings, THEMES[theme][0])
        return f"{self.base}/lab/workspaces/{theme}/tree/{theme}/dashboard.ipynb?token={self.token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab server on a free port for every theme; a notebook per theme."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    need(_importable("playwright"), "playwright is not installed (pip install playwright)")
    need(_importable("jupyterlab"), "jupyterlab is not installed (pip install jupyterlab)")
    tmp_path = tmp_path_factory.mktemp("lab")
    root, config = tmp_path / "root", tmp_path / "jupyter"
    for theme in THEMES:
        write_notebook(root / theme / "dashboard.ipynb")
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
        yield Lab(base, token, root, config / "settings")
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


def run_cell(page, cell) -> None:
    """Run a notebook cell as a user does: click into it, Shift+Enter."""
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ------------------------------------------------------------------ colours the page computes

# each text of the graph: its fill, and the first opaque background behind it
GRAPH_TEXT = """svg => [...svg.querySelectorAll('.nbm-rev-id, .nbm-rev-message')].map(t => {
    let n = svg, bg = 'rgb(255, 255, 255)';
    for (; n; n = n.parentElement) {
        const c = getComputedStyle(n).backgroundColor;
        if (c !== 'transparent' && !/, 0\\)$/.test(c)) { bg = c; break; }
    }
    return [t.textContent.trim(), getComputedStyle(t).fill, bg];
})"""
# the colour a style attribute gives text, in the page's theme
STYLED = """([host, style]) => {
    const d = document.createElement('div');
    d.setAttribute('style', style);
    host.appendChild(d);
    const c = getComputedStyle(d).color;
    d.remove();
    return c;
}"""


def rgba(css: str) -> tuple[float, float, float, float]:
    """A computed colour: rgb(...), rgba(...) or color(srgb ...), as 0-255 and alpha."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css.split("(", 1)[1])]
    if css.startswith("color(srgb"):
        r, g, b, *a = numbers
        return (r * 255, g * 255, b * 255, a[0] if a else 1.0)
    r, g, b, *a = numbers
    return (r, g, b, a[0] if a else 1.0)


def painted(fg: str, bg: str) -> tuple[float, ...]:
    r, g, b, a = rgba(fg)
    back = rgba(bg)
    return tuple(c * a + k * (1 - a) for c, k in zip((r, g, b), back[:3], strict=True))


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of text coloured ``fg`` on ``bg``."""
    return wcag_contrast(painted(fg, bg), painted(bg, "rgb(255, 255, 255)"))


def hue(css: str) -> float:
    return colorsys.rgb_to_hls(*(c / 255 for c in rgba(css)[:3]))[0] * 360


def hue_gap(a: str, b: str) -> float:
    gap = abs(hue(a) - hue(b))
    return min(gap, 360 - gap)


def check_graph_text(page, where: str) -> int:
    """Every revision id and message of every graph on the page reads against its
    background; returns how many texts were checked."""
    checked = 0
    for svg in page.locator("svg.nbm-graph").all():
        for text, fill, bg in page.evaluate(GRAPH_TEXT, svg.element_handle()):
            ratio = contrast(fill, bg)
            assert ratio >= 4.5, f"{where}: {text!r} is {fill} on {bg}: contrast {ratio:.1f}"
            checked += 1
    return checked


def buttons_outside(dashboard, where: str) -> list[str]:
    """The buttons the dashboard shows that a user cannot read whole: past the window's
    edge or the dashboard's (a row that overflows hides them), or with the label cut."""
    shown = [b for b in dashboard.locator(".widget-button, .widget-toggle-button").all()
             if b.is_visible()]
    assert shown, where
    frame = dashboard.bounding_box()
    right = min(WIDTH, frame["x"] + frame["width"])
    outside = []
    for b in shown:
        box = b.bounding_box()
        label = b.inner_text().strip() or b.get_attribute("title")
        if box is None or box["x"] < max(0, frame["x"]) or box["x"] + box["width"] > right:
            outside.append(f"{where}: {label!r} at x={box and round(box['x'])}, width "
                           f"{box and round(box['width'])} (inside: {round(frame['x'])} to "
                           f"{round(right)})")
        elif b.evaluate("e => e.scrollWidth > e.clientWidth + 1"):
            outside.append(f"{where}: {label!r} has its label cut")
    return outside


# ------------------------------------------------------------------ the test


@pytest.mark.parametrize("theme", THEMES)
def test_preview_and_apply_in_jupyterlab(lab, theme, tmp_path):
    from playwright.sync_api import sync_playwright

    name, picture = THEMES[theme]
    database = f"sqlite:///{lab.root / theme / 'app.db'}"
    shot = tmp_path / picture
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.set_default_timeout(30_000)
            page.goto(lab.open(theme))
            page.get_by_text(f"{KERNEL} | Idle").wait_for()
            assert page.evaluate("document.body.dataset.jpThemeName") == name
            assert page.locator("#filebrowser").is_visible()  # the side panel takes its room
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.get_by_text("Run All Cells", exact=True).click()

            dashboard = page.locator(".nbm-dashboard")
            dashboard.locator(".nbm-status", has_text="ready: default").wait_for()
            outside = []  # said at the end, after the checks that do not depend on it
            for tab in ("History", "Graph", "New revision", "Upgrade / downgrade"):
                dashboard.locator(".lm-TabBar-tab", has_text=tab).click()
                outside += buttons_outside(dashboard, f"{tab} tab")
            button(dashboard, "Preview").click()
            dashboard.locator(".nbm-status", has_text="1 revision(s) to upgrade").wait_for()
            assert "create_table" in dashboard.inner_text()
            assert version(database) == set()  # the preview changed nothing
            outside += buttons_outside(dashboard, "after Preview")

            button(dashboard, "Apply").click()
            dashboard.locator(".nbm-status", has_text="upgraded default").wait_for()
            dashboard.locator(".nbm-header", has_text="up to date").wait_for()
            dashboard.get_by_text("upgrade head: done").wait_for()
            dashboard.screenshot(path=str(shot))

            dashboard.locator(".lm-TabBar-tab", has_text="Graph").click()
            current = dashboard.locator(f'svg.nbm-graph g[data-revision="{REVISION}"] circle')
            dashboard.locator("svg.nbm-graph", has_text="[current]").wait_for()
            assert check_graph_text(page, name) >= 4  # %migrate graph's and the dashboard's
            loss, warning = (page.evaluate(STYLED, [dashboard.element_handle(), style])
                             for style in (styles.DANGER, styles.WARNING))
            highlight = page.evaluate("e => getComputedStyle(e).fill", current.element_handle())
            for other, what in ((loss, "data loss"), (warning, "warning")):
                assert hue_gap(highlight, other) > 60, (name, what, highlight, other)
            assert hue_gap(loss, warning) >= 25, (name, loss, warning)
            background = page.evaluate(
                "getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor")
            for colour in (loss, warning):  # they are text: they must read as text does
                assert contrast(colour, background) >= 4.5, (name, colour, background)

            # the dashboard's cell run again: JupyterLab removes the old view and tells the
            # kernel, so the old dashboard no longer reads after every command
            cells = page.locator(".jp-Notebook .jp-CodeCell")
            run_cell(page, cells.nth(5))
            dashboard.locator(".nbm-status", has_text="ready: default").wait_for()
            assert dashboard.count() == 1
            run_cell(page, cells.nth(6))
            cells.nth(6).locator(".jp-OutputArea-output",
                                 has_text="views: [0, 1] hidden: [True, False]").wait_for()
        finally:
            browser.close()

    assert version(database) == {REVISION}
    assert columns(database, "users") == {"id", "name"}
    assert shot.stat().st_size > 10_000
    assert not outside, (f"{name} at {WIDTH} px, file browser open: buttons cut off:\n"
                         + "\n".join(outside))
    if os.environ.get("NBMIGRATE_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / picture)
