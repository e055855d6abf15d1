"""MySQL and MariaDB: DDL commits as it goes, GET_LOCK, and table copies to warn about."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from ..locks import NAME, timed_out, waiting
from ..statements import Effect
from .base import Backend


class MySQL(Backend):
    dialects = ("mysql", "mariadb")
    noop = "DO 0"
    text_type = "CHAR"

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """``GET_LOCK``, which waits on the server itself."""
        got = conn.exec_driver_sql(f"SELECT GET_LOCK('{NAME}', 0)").scalar()
        if got != 1:
            waiting(on_wait, timeout)
            got = conn.exec_driver_sql(f"SELECT GET_LOCK('{NAME}', {int(timeout)})").scalar()
            if got != 1:
                raise timed_out(timeout)
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT RELEASE_LOCK('{NAME}')")
            conn.commit()

    def lint(self, e: Effect) -> str:
        if e.kind == "alter_type" and "no_rewrite" not in e.options:
            return ("MySQL/MariaDB copies the table to change a column's type or NULL-ness, "
                    "blocking writes: run it with pt-online-schema-change or gh-ost on a big "
                    "table")
        if e.kind == "drop_column":
            return ("dropping a column rebuilds the table on MySQL/MariaDB: on a big table, "
                    "plan it for a quiet time or use an online schema change tool")
        return super().lint(e)

    def revision_warning(self, changes: list[Effect]) -> str:
        """Several DDL statements on existing tables in one revision, where each commits
        as it goes."""
        if len(changes) > 1:
            return (f"{len(changes)} DDL operations in one revision: MySQL/MariaDB commits "
                    "each, so a failure half-way leaves the first ones applied; one change "
                    "per revision is safer")
        return ""

    def rewrites(self, old: str, new: str) -> bool:
        return old.upper().replace(" ", "") != new.upper().replace(" ", "")
