"""Keeping passwords out of everything nbmigrate shows."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.engine import URL

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?P<at>@)")
# user:password@host without a scheme (a URL typed without one), and scheme://user:password
# cut off at the "@" (as Alembic quotes a revision it cannot find)
_BARE_PASSWORD = re.compile(r"(?P<head>(?:^|[\s'\"(=/])[\w.+%-]+:)(?P<pw>[^@\s/'\":]+)(?P<at>@)")
_CUT_PASSWORD = re.compile(r"(?P<head>(?:[A-Za-z][\w+.-]*:)?//[^:/@\s'\"]+:)(?!\*\*\*)"
                           r"(?P<pw>[^@\s/'\"]+)(?P<end>['\"\s]|$)")
# password=x in a query or a DSN, and password = 'x' in SQL
_KEYWORD_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)(\s*=\s*)(?:'(?:[^']|'')*'|\"[^\"]*\""
                               r"|(?!\*\*\*)[^\s&;,'\")]+)")
# a password in SQL: CREATE/ALTER ROLE|USER ... [ENCRYPTED] PASSWORD '...', or MySQL's
# IDENTIFIED [WITH plugin] BY '...' (and not Alembic's "revision identified by 'x'")
_SQL_PASSWORD = re.compile(r"(?i)\b((?:create|alter)\s+(?:role|user)\b[^;]*?\b(?:password|"
                           r"identified\s+(?:with\s+\S+\s+)?by(?:\s+password)?))\s+'(?:[^']|'')*'")


QUERY_PASSWORDS = ("password", "passwd", "pwd")  # where drivers also take a password


def mask_url(url: URL | str) -> str:
    """The URL as text with its password (``user:***@``, ``?password=***``) masked."""
    if isinstance(url, URL):
        return redact(url.render_as_string(hide_password=True))
    return redact(url)


def url_passwords(url: URL) -> list[str]:
    """The passwords a URL holds: after the user name, or in its query."""
    found = [url.password] if url.password else []
    for key in QUERY_PASSWORDS:
        value = url.query.get(key)
        found += [value] if isinstance(value, str) else list(value or ())
    return [str(p) for p in found if p]


def without_passwords(url: URL) -> URL:
    """``url`` with no password anywhere (to write to a file)."""
    return url._replace(password=None).difference_update_query(QUERY_PASSWORDS)


def _masked_keyword(found: re.Match) -> str:
    quote = found.group(0)[-1] if found.group(0)[-1] in "'\"" else ""
    return f"{found.group(1)}{found.group(2)}{quote}***{quote}"


def redact(text: str, passwords: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, ``password=`` values and known passwords masked."""
    text = _URL_PASSWORD.sub(r"\g<head>***\g<at>", text)
    text = _BARE_PASSWORD.sub(r"\g<head>***\g<at>", text)
    text = _CUT_PASSWORD.sub(r"\g<head>***\g<end>", text)
    text = _KEYWORD_PASSWORD.sub(_masked_keyword, text)
    text = _SQL_PASSWORD.sub(r"\1 '***'", text)
    for password in passwords:
        if password and len(password) >= 3:
            text = text.replace(password, "***")
    return text
