"""PostgreSQL DO blocks: each SQL statement of a PL/pgSQL body read on its own, as
``statements`` reads any statement; the procedural lines around them are not judged."""

from __future__ import annotations

import re

from .statements import RISKY, SQLALCHEMY_NAMES, Effect, classify

_DOLLAR_BODY = re.compile(r"(\$\w*\$)(.*?)\1", re.DOTALL)
_PLPGSQL = re.compile(r"^\s*(begin|end|declare|exception|if|else|elsif|loop|for|while|return|"
                      r"raise|perform|when|case|null|exit|continue|execute|get)\b", re.IGNORECASE)


def do_block(text: str, dialect: str) -> list[Effect]:
    """A PL/pgSQL block: each SQL statement in its body, read on its own; what cannot be
    read that way is not judged."""
    match = _DOLLAR_BODY.search(text)
    if match is None:
        return [Effect("unknown", detail="DO block is not judged", source=text)]
    out: list[Effect] = []
    for part in match.group(2).split(";"):
        part = re.sub(r"^\s*(begin|declare\s+[^;]*)\b", "", part, flags=re.IGNORECASE).strip()
        if not part or not RISKY.search(part):
            continue
        if _PLPGSQL.match(part):
            out.append(Effect("unknown", detail="DO block: a statement is not judged",
                              source=part))
            continue
        out.extend(classify(part, SQLALCHEMY_NAMES.get(dialect, dialect)))
    return out or [Effect("other", detail="do block")]
