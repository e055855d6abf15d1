"""Every style nbmigrate draws with, written once."""

from __future__ import annotations

# selectors specific enough to win over JupyterLab's right-aligned table cells
STYLE = (
    "<style>table.nbm-table tr td,table.nbm-table tr th"
    "{text-align:left !important;padding:2px 8px}"
    "table.nbm-table tr.nbm-mark{font-weight:bold;background:rgba(66,165,245,.18)}"
    ".nbm-title{font-weight:bold;margin:4px 0}"
    ".nbm-note{color:#666;margin:4px 0;white-space:pre-line}</style>"
)
DANGER = "color:#c62828;font-weight:bold;margin:4px 0"  # what would lose data
WARNING = "color:#8d6e00;margin:4px 0"  # lint warnings
MUTED = "#666"  # secondary text: a URL beside its name
ERROR = "#c62828"
STATUS = {"ready": "#555", "busy": "#1565c0", "ok": "#2e7d32", "error": ERROR}

# the revision graph: one colour per lane, and the labels beside a revision
PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f")
LABEL_COLORS = {"head": "#2e7d32", "branch": "#6a1b9a", "tag": "#e65100", "current": "#1565c0"}
CURRENT_FILL, CURRENT_STROKE, NODE_FILL, MESSAGE = "#1565c0", "#0d47a1", "white", "#444"
