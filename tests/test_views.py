"""How results read in a notebook: theme colours, the audit log, times, the history frame.

The colour tests read JupyterLab's own Light and Dark theme stylesheets and resolve
what nbmigrate draws against each, as the browser would: text must stand out from
the background, and the current revision, data loss and warnings must not share a
colour. (tests/test_dashboard_browser.py checks the same in a real browser.)
"""

from __future__ import annotations

import colorsys
import re
from datetime import datetime
from functools import cache
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from helpers import table_revision, wcag_contrast, write_revision

from nbmigrate.display import dashboard, styles
from nbmigrate.engine.audit import AuditLog, LogEntry

THEMES = {"light": "theme-light-extension", "dark": "theme-dark-extension"}
SECOND = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
NAMED_COLOURS = re.compile(r"(?<![\w-])(white|black|red|green|blue|gr[ae]y|orange|purple|"
                           r"yellow|silver|navy|maroon|teal|olive|lime|aqua|fuchsia)(?![\w-])",
                           re.I)


# ------------------------------------------------------------------ a project to look at


def lossy_project(nb) -> None:
    """a1 makes users with two rows, d1 drops it; the database is at a1; a1 was tried
    once more with a failing b2 to leave a failed step in the log."""
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok(table_revision("a1", "users", "op.execute('INSERT INTO users (id) VALUES (1), (2)')",
                         message="create users"))
    nb.ok("%migrate upgrade a1")
    nb.ok('''%%migrate revision -m "drop users" --rev-id d1
def upgrade():
    op.drop_table("users")

def downgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))
''')
    nb.ok("%migrate tag v1 a1")


def everything_drawn(nb) -> list[str]:
    """The HTML of every view a user meets with colours in it: tables, notes, the graph,
    a plan that loses data, the log, and the dashboard's header, status and previews."""
    lossy_project(nb)
    plan = nb.ok("%migrate upgrade head --dry-run")
    assert plan.destructive
    ui = nb.ok("%migrate ui")
    shown = [nb.ok("%migrate history")._repr_html_(), nb.ok("%migrate graph")._repr_html_(),
             nb.ok("%migrate heads")._repr_html_(), plan._repr_html_(),
             plan.to_frame()._repr_html_(), nb.ok("%migrate log")._repr_html_(),
             dashboard.plan_html(plan), dashboard.header_error_html("cannot connect"),
             *(dashboard.status_html(kind, "words") for kind in dashboard.STATUS_PREFIX),
             log_with_every_status()._repr_html_(), widget_html(ui)]
    return shown


def widget_html(widget) -> str:
    """Every HTML value in a widget tree (the dashboard's header, tables, graph, status)."""
    out = [widget.value] if isinstance(getattr(widget, "value", None), str) else []
    out += [widget_html(child) for child in getattr(widget, "children", ()) or ()]
    return "\n".join(out)


def entry(status: str, error: str | None = None, seconds: float | None = 0.25,
          revision: str = "b2") -> LogEntry:
    return LogEntry(datetime(2024, 5, 1, 12, 3, 4, 567891), "upgrade", revision, "a1",
                    revision, "up", status, seconds, status == "ok", error, "ana", "0.1")


TRACEBACK = ("Traceback (most recent call last):\n  File \"versions/b2.py\", line 9\n"
             "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: x")


def log_with_every_status() -> AuditLog:
    return AuditLog("default", [entry("running", seconds=None),
                                entry("interrupted", "cut off at b2", None),
                                entry("failed", TRACEBACK), entry("ok", revision="a1")])


# ------------------------------------------------------------------ colours as a browser sees


@cache
def theme_variables(theme: str) -> dict[str, str]:
    """--jp-* variables of JupyterLab's installed theme stylesheet."""
    jupyterlab = pytest.importorskip("jupyterlab")
    css = (Path(jupyterlab.__file__).parent / "themes" / "@jupyterlab" / THEMES[theme]
           / "index.css")
    if not css.is_file():
        pytest.skip(f"{css} is missing")
    return dict(re.findall(r"(--jp-[\w-]+)\s*:\s*([^;}]+)", css.read_text()))


def _split(args: str) -> list[str]:
    """Top-level comma-separated arguments."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    return [*parts, args[start:].strip()]


def _call(value: str, name: str) -> str | None:
    """The arguments of ``name(...)`` when ``value`` is that call."""
    value = value.strip()
    return value[len(name) + 1:-1] if value.startswith(f"{name}(") and value.endswith(")") \
        else None


def resolve(value: str, theme: str) -> tuple[float, float, float, float]:
    """A CSS colour nbmigrate writes, as RGBA (0-255, alpha 0-1) in ``theme``: var() with
    fallbacks, color-mix() in srgb, hex, rgb()/rgba(), white, currentColor (the text)."""
    variables = theme_variables(theme)
    value = value.strip()
    if (args := _call(value, "var")) is not None:
        name, *fallback = _split(args)
        if name in variables:
            return resolve(variables[name], theme)
        return resolve(fallback[0], theme)
    if (args := _call(value, "color-mix")) is not None:
        space, first, second = _split(args)
        assert space == "in srgb"
        (c1, p1), (c2, _) = (re.fullmatch(r"(.+?)(?:\s+(\d+)%)?", part).groups()
                             for part in (first, second))
        w = int(p1) / 100
        a, b = resolve(c1, theme), resolve(c2, theme)
        alpha = a[3] * w + b[3] * (1 - w)
        if alpha == 0:
            return (0, 0, 0, 0)
        return (*(  # premultiplied, as CSS Color 5 mixes
            (a[i] * a[3] * w + b[i] * b[3] * (1 - w)) / alpha for i in range(3)), alpha)
    if value == "currentColor":
        return resolve("var(--jp-content-font-color1)", theme)
    if value in ("white", "Canvas"):
        return (255, 255, 255, 1)
    if value == "transparent":
        return (0, 0, 0, 0)
    if (args := _call(value, "rgba") or _call(value, "rgb")) is not None:
        r, g, b, *a = (float(x) for x in _split(args))
        return (r, g, b, a[0] if a else 1.0)
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return (*(int(value[i:i + 2], 16) for i in (1, 3, 5)), 1.0)
    raise AssertionError(f"cannot resolve {value!r}")


def on_background(colour: str, theme: str) -> tuple[float, float, float]:
    """``colour`` as painted on the notebook's background in ``theme``."""
    r, g, b, a = resolve(colour, theme)
    bg = resolve(styles.BACKGROUND, theme)
    return tuple(c * a + k * (1 - a) for c, k in zip((r, g, b), bg[:3], strict=True))


def contrast(colour: str, theme: str) -> float:
    """WCAG contrast ratio of ``colour`` against the background in ``theme``."""
    return wcag_contrast(on_background(colour, theme),
                         on_background(styles.BACKGROUND, theme))


def hue(colour: str, theme: str) -> float:
    """The hue in degrees."""
    return colorsys.rgb_to_hls(*(c / 255 for c in on_background(colour, theme)))[0] * 360


def hue_gap(a: float, b: float) -> float:
    return min(abs(a - b), 360 - abs(a - b))


def without_variables(css: str) -> str:
    """``css`` with every ``var(...)`` (and so its fallback) taken out."""
    out, i = [], 0
    while (start := css.find("var(", i)) >= 0:
        out.append(css[i:start])
        depth, j = 0, start + 3
        while True:
            depth += {"(": 1, ")": -1}.get(css[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    return "".join(out) + css[i:]


def colour_places(html: str) -> list[str]:
    """Where HTML can set a colour: <style> blocks, style attributes, SVG paint attributes."""
    blocks = re.findall(r"<style>(.*?)</style>", html, re.S)
    attributes = [a or b for a, b in re.findall(r"style=(?:'([^']*)'|\"([^\"]*)\")", html)]
    paints = re.findall(r"\b(?:fill|stroke|color|bgcolor)=\"([^\"]*)\"", html)
    return blocks + attributes + paints


# ------------------------------------------------------------------ colours


def test_no_view_hard_codes_a_colour(nb, workdir):
    shown = "\n".join(everything_drawn(nb))
    places = colour_places(shown)
    assert len(places) > 20 and any("var(--jp-" in p for p in places)
    for place in places:
        bare = without_variables(place)
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b", bare), place
        assert not re.search(r"\b(rgba?|hsla?)\(", bare), place
        assert not NAMED_COLOURS.search(bare), place


def test_every_theme_variable_exists_in_jupyterlab_light_and_dark(nb, workdir):
    used = set(re.findall(r"var\((--jp-[\w-]+)", "\n".join(everything_drawn(nb))))
    assert {"--jp-content-font-color1", "--jp-layout-color0", "--jp-error-color1",
            "--jp-brand-color1"} <= used
    for theme in THEMES:
        assert used <= set(theme_variables(theme)), (theme, used - set(theme_variables(theme)))


def test_svg_takes_its_colours_through_style_attributes(nb, workdir):
    """SVG's fill="var(...)" is ignored by browsers (text falls back to black): colours go
    in style attributes; plain attributes hold only none or currentColor."""
    lossy_project(nb)
    svg = nb.ok("%migrate graph")._repr_html_()
    assert "<svg" in svg
    assert set(re.findall(r"\b(?:fill|stroke)=\"([^\"]*)\"", svg)) <= {"none", "currentColor"}
    texts = re.findall(r"<text [^>]*>", svg)
    assert texts and all(f"fill:{styles.TEXT}" in t for t in texts)
    assert f'class="nbm-rev-message" style="fill:{styles.MESSAGE}"' in svg


@pytest.mark.parametrize("theme", THEMES)
def test_graph_text_and_notes_stand_out_from_the_background(theme):
    # WCAG AA for text: 4.5; the old #444 message on JupyterLab Dark's #111 was 1.9
    for name, colour in {"revision id": styles.TEXT, "message": styles.MESSAGE,
                         "note": styles.MUTED, "error": styles.ERROR, "warning": styles.WARN,
                         "ok": styles.SUCCESS, "busy": styles.BRAND}.items():
        assert contrast(colour, theme) >= 4.5, (name, theme, contrast(colour, theme))
    for lane in styles.PALETTE:  # a 2 px line: 3 is enough (non-text contrast)
        assert contrast(lane, theme) >= 2.5, (lane, theme)


@pytest.mark.parametrize("theme", THEMES)
def test_current_data_loss_and_warning_colours_stay_apart(theme):
    current, loss, warning = (hue(c, theme) for c in
                              (styles.CURRENT_FILL, styles.ERROR, styles.WARN))
    assert hue_gap(current, loss) > 60 and hue_gap(current, warning) > 60
    assert hue_gap(loss, warning) >= 25, (loss, warning)  # deep orange (21) is too near red
    # the row highlights: the current revision's and the lossy rows' backgrounds differ too
    assert f"tr.nbm-mark{{font-weight:bold;background:{styles.tint(styles.BRAND, 18)}}}" \
        in styles.STYLE
    assert f"nbm-lossy tr.nbm-mark{{background:{styles.tint(styles.ERROR, 18)}}}" in styles.STYLE
    # no lane of the graph looks like data loss or a warning
    for lane in styles.PALETTE[:-1]:  # the last is grey
        assert hue_gap(hue(lane, theme), loss) > 40 and hue_gap(hue(lane, theme), warning) > 30


def test_rows_that_lose_data_are_marked_apart_from_the_current_revision(nb, workdir):
    lossy_project(nb)
    plan = nb.ok("%migrate upgrade head --dry-run")
    for html in (plan._repr_html_(), plan.to_frame()._repr_html_(), dashboard.plan_html(plan)):
        table = html[html.index("<table"):html.index("</table>")]
        assert table.startswith("<table class='nbm-table nbm-lossy'>")
        assert table.count("<tr class=nbm-mark>") == 1 and "drop_table" in table
    history = nb.ok("%migrate history")._repr_html_()
    assert re.findall(r"<table[^>]*>", history) == ["<table class=nbm-table>"]


# ------------------------------------------------------------------ the audit log


def test_the_log_shows_when_what_status_and_a_one_line_error(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok(table_revision("a1", "ta", message="create ta"))
    long_error = "first line of the failure " + "x" * 120
    nb.ok(table_revision("b2", "tb", f'raise RuntimeError("{long_error}")'))
    assert nb.run("%migrate upgrade head").error is not None

    assert nb.ok("df = %migrate log") is None
    log = nb.ns["df"]
    assert isinstance(log, pd.DataFrame)  # every column is still there
    assert list(log.columns) == list(LogEntry._fields)
    assert list(log["status"]) == ["failed", "ok"] and list(log["success"]) == [False, True]
    assert long_error in log["error"].iloc[0]

    html = log._repr_html_()
    heads = re.findall(r"<th>(.*?)</th>", html)
    assert heads == ["when (UTC)", "what", "from -&gt; to", "status", "seconds", "error"]
    rows = re.findall(r"<tr>(.*?)</tr>", html)[1:]
    failed, ok = ([re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
                  for r in rows)
    assert SECOND.fullmatch(failed[0]) and SECOND.fullmatch(ok[0])  # to the second
    assert ok[1:4] == ["upgrade a1: create ta", "base -&gt; a1", "ok"] and float(ok[4]) >= 0
    assert failed[1:4] == ["upgrade b2: tb", "a1 -&gt; b2", "failed"]
    summary = unescape(re.search(r"<summary>(.*?)</summary>", rows[0]).group(1))
    assert "\n" not in summary and len(summary) <= 80 and summary.endswith("\u2026")
    assert re.search(r"<details><summary>.*?</summary><pre>(.*?)</pre></details>",
                     rows[0]).group(1).count("x" * 120) == 1  # the whole text, one click away
    assert "<details>" not in rows[1]  # nothing to open where nothing failed
    assert "nbm-failed" in rows[0] and "nbm-ok" in rows[1]


def test_the_log_says_how_each_step_ended_and_keeps_long_errors_whole():
    log = log_with_every_status()
    html = log._repr_html_()
    for status in ("running", "interrupted", "failed", "ok"):
        assert f"<td class=nbm-{status}>{status}</td>" in html
    assert html.count("<details>") == 1  # only the traceback is longer than a line
    summary = re.search(r"<summary>(.*?)</summary>", html).group(1)
    assert summary == "Traceback (most recent call last): \u2026"
    assert "no such table: x" in html[html.index("<details>"):]
    assert "2024-05-01 12:03:04<" in html and "567891" not in html

    text = str(log)  # a terminal: the same columns, errors in full below
    lines = text.splitlines()
    assert lines[1].split() == ["when", "(UTC)", "what", "from", "->", "to", "status",
                                "seconds", "error"]
    assert all(len(line) <= 120 for line in lines[:6])
    assert "errors in full:" in text and "no such table: x" in text.split("errors in full:")[1]
    assert "2024-05-01 12:03:04 " in text

    frame = log.to_frame()  # the DataFrame keeps every column and the exact time
    assert list(frame.columns) == list(LogEntry._fields)
    assert frame["started_at"].iloc[0].microsecond == 567891
    assert frame[["status"]]._repr_html_().count("<td>") == 4  # a slice is a plain frame


# ------------------------------------------------------------------ history and times


def test_history_times_read_to_the_second_and_its_frame_keeps_them(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    write_revision(nb, "aaaa0001", "ta")
    nb.ok("%migrate upgrade head")
    h = nb.ok("%migrate history")
    html = h._repr_html_()
    cells = re.findall(r"<td>([^<]*)</td>", html)
    times = [c for c in cells if c[:2] == "20"]
    assert len(times) == 2 and all(SECOND.fullmatch(t) for t in times)  # applied_at, created
    assert h["applied_at"].iloc[0].microsecond or h["created"].iloc[0].microsecond  # data


def test_history_parents_and_branch_labels_are_plain_text(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    write_revision(nb, "aaaa0001", "ta")
    write_revision(nb, "bbbb0002", "tb")
    write_revision(nb, "cccc0003", "tc", "--head aaaa0001 --splice --branch-label side")
    nb.ok("%migrate merge -m 'join' --rev-id mmmm0004 bbbb0002 cccc0003")

    assert nb.ok("h = %migrate history") is None
    h = nb.ns["h"]
    rows = dict(zip(h["revision"], zip(h["parents"], h["branch_labels"], strict=True),
                    strict=True))
    assert rows["mmmm0004"][0] == "bbbb0002, cccc0003"
    assert rows["cccc0003"] == ("aaaa0001", "side") and rows["aaaa0001"] == ("", "")
    shown = h[["revision", "parents"]].to_string()
    assert "(" not in shown and "bbbb0002, cccc0003" in shown
    verbose = nb.ok("%migrate history --verbose")
    assert set(map(type, verbose["depends_on"])) == {str}
