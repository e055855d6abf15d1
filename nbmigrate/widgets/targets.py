"""The choices of the target chooser: keywords, relative steps, each revision, tags."""

from __future__ import annotations

from ..engine.results import History, TagList
from ..engine.text import short

UPGRADE = [("head: the newest revision", "head"), ("heads: every branch's newest", "heads"),
           ("+1: one revision up", "+1"), ("+2: two revisions up", "+2")]
DOWNGRADE = [("-1: one revision down", "-1"), ("-2: two revisions down", "-2"),
             ("base: nothing applied", "base")]


def target_options(action: str, history: History, tags: TagList) -> list[tuple[str, str]]:
    """(label, target) pairs for ``action``; the first is the usual choice."""
    fixed = UPGRADE if action == "upgrade" else DOWNGRADE
    revisions = []
    for r in history.revisions:
        mark = " (current)" if r.revision in history.current else ""
        revisions.append((f"{short(r.revision)}: {r.message}{mark}", r.revision))
    named = [(f"tag {name}: {short(r.revision)} {r.message}", name) for name, r in tags.tags]
    options = list(fixed)
    if action == "upgrade" and len([r for r in history.revisions if r.is_head]) > 1:
        options[0], options[1] = options[1], options[0]  # with several heads, "head" fails
    return options + revisions + named
