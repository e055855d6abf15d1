"""Every style nbmigrate draws with, written once.

Colours come from JupyterLab's theme variables, so they follow its light and dark
themes; each ``var()`` carries a fallback (JupyterLab Light's value, or the text's own
colour) for front ends without them. SVG presentation attributes do not resolve
``var()``, so the graph takes its colours through ``style`` attributes.
"""

from __future__ import annotations


def theme(name: str, fallback: str) -> str:
    """A JupyterLab theme variable, ``fallback`` where the front end does not define it."""
    return f"var(--jp-{name}, {fallback})"


def tint(color: str, percent: int) -> str:
    """``color`` let through at ``percent``: a row highlight that reads on any background."""
    return f"color-mix(in srgb, {color} {percent}%, transparent)"


def toned(color: str, percent: int) -> str:
    """``color`` moved toward the text colour (darker in a light theme, lighter in a dark
    one): a theme's pale orange or green that must read as text on either."""
    return f"color-mix(in srgb, {color} {percent}%, {TEXT})"


TEXT = theme("content-font-color1", "currentColor")  # revision ids, table text
MUTED = theme("content-font-color2", tint("currentColor", 70))  # notes, hints, a URL
BACKGROUND = theme("layout-color0", "Canvas")  # inside a graph's node
BRAND = theme("brand-color1", "#1976d2")  # the current revision; work under way
ERROR = theme("error-color1", "#d32f2f")  # what would lose data; errors; failed steps
WARN = toned(theme("warn-color1", "#f57c00"), 65)  # lint warnings; interrupted steps
SUCCESS = toned(theme("success-color1", "#388e3c"), 80)  # done; heads

DANGER = f"color:{ERROR};font-weight:bold;margin:4px 0"  # what would lose data
WARNING = f"color:{WARN};margin:4px 0"  # lint warnings
STATUS = {"ready": MUTED, "busy": BRAND, "ok": SUCCESS, "error": ERROR}
LOG_STATUS = {"ok": SUCCESS, "failed": ERROR, "interrupted": WARN, "running": BRAND}

# selectors specific enough to win over JupyterLab's right-aligned table cells
STYLE = (
    "<style>table.nbm-table tr td,table.nbm-table tr th"
    "{text-align:left !important;padding:2px 8px}"
    f"table.nbm-table tr.nbm-mark{{font-weight:bold;background:{tint(BRAND, 18)}}}"
    f"table.nbm-table.nbm-lossy tr.nbm-mark{{background:{tint(ERROR, 18)}}}"
    ".nbm-title{font-weight:bold;margin:4px 0}"
    f".nbm-note{{color:{MUTED};margin:4px 0;white-space:pre-line}}</style>"
)
# the audit log: times and revisions on one line, status in colour, an error on one line
# that opens to its whole text
LOG_STYLE = (
    "<style>table.nbm-table td.nbm-when{white-space:nowrap}"
    + "".join(f"table.nbm-table td.nbm-{name}{{color:{color}}}"
              for name, color in LOG_STATUS.items())
    + "table.nbm-table td.nbm-failed,table.nbm-table td.nbm-interrupted{font-weight:bold}"
    "table.nbm-table td.nbm-error{max-width:40em}"
    "table.nbm-table td.nbm-error summary{cursor:pointer;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis}"
    "table.nbm-table td.nbm-error pre{white-space:pre-wrap;overflow-wrap:anywhere;"
    "margin:4px 0}</style>"
)

# the revision graph: one colour per lane, and the labels beside a revision
# (no red or orange: those say "data loss" and "warning")
PURPLE = theme("mirror-editor-operator-color", "#7800c2")  # the editor's purple, set per theme
CYAN = theme("info-color1", "#0097a7")
PALETTE = (BRAND, theme("accent-color1", "#388e3c"), PURPLE, CYAN,
           theme("content-font-color3", tint("currentColor", 45)))
LABEL_COLORS = {"head": SUCCESS, "branch": PURPLE, "tag": CYAN, "current": BRAND}
CURRENT_FILL, CURRENT_STROKE, NODE_FILL = BRAND, theme("brand-color0", "#0d47a1"), BACKGROUND
MESSAGE = MUTED
