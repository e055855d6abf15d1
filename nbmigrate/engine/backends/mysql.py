"""MySQL and MariaDB: DDL commits as it goes, GET_LOCK, and table copies to warn about."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ..locks import timed_out, waiting
from ..secrets import redact
from ..shapes import ShapeReader
from ..statements import Effect
from ..text import clip
from .base import Backend

LOCK_WAIT_TIMEOUT = 1205  # "Lock wait timeout exceeded": a metadata lock or a row lock
# the oldest other session in a transaction: one that has read or written a table holds
# a lock on it until its transaction ends (which table, the server tells only with
# performance_schema or a plugin, both off by default)
OLDEST_TRANSACTION = """
SELECT p.ID, p.USER, p.HOST, p.COMMAND, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()),
       LEFT(COALESCE(p.INFO, ''), 2000)
FROM information_schema.INNODB_TRX t
JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
WHERE t.trx_mysql_thread_id <> CONNECTION_ID()
ORDER BY t.trx_started LIMIT 1
"""


class MySQL(Backend):
    dialects = ("mysql", "mariadb")
    bounds_lock_waits = True
    noop = "DO 0"
    text_type = "CHAR"

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """``GET_LOCK`` on a name of this database's own (the server's names are shared
        by all its databases), which waits on the server itself."""
        name = lock_name(conn.exec_driver_sql("SELECT DATABASE()").scalar() or "")
        if not _get_lock(conn, name, 0):
            waiting(on_wait, timeout)
            if not _get_lock(conn, name, int(timeout)):
                raise timed_out(timeout)
        try:
            yield
        finally:
            conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            conn.commit()

    def lock_wait_seconds(self, seconds: float) -> float:
        return float(max(1, math.ceil(seconds)))  # both settings take whole seconds

    def bound_lock_waits(self, conn: Connection, seconds: float) -> bool:
        whole = int(self.lock_wait_seconds(seconds))
        conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {whole}, "
                             f"innodb_lock_wait_timeout = {whole}")
        # a row lock's timeout undoes only its statement, unless the server undoes the
        # whole transaction then: a statement is sent again only where it did nothing
        return not conn.exec_driver_sql("SELECT @@innodb_rollback_on_timeout").scalar()

    def unbound_lock_waits(self, conn: Connection) -> None:
        conn.exec_driver_sql("SET SESSION lock_wait_timeout = DEFAULT, "
                             "innodb_lock_wait_timeout = DEFAULT")

    def lock_not_available(self, exc: BaseException) -> bool:
        orig = getattr(exc, "orig", None) or exc
        args = getattr(orig, "args", ())
        return bool(args) and args[0] == LOCK_WAIT_TIMEOUT

    def lock_holder(self, conn: Connection, table: str) -> str:
        row = conn.exec_driver_sql(OLDEST_TRANSACTION).first()
        if row is None:
            return ""
        number, user, host, command, seconds, query = row
        doing = "idle" if command == "Sleep" else \
            f"running {clip(' '.join(redact(query).split()), 60)!r}"  # masked, then cut
        return (f"probably connection {number}, {user}@{host.rsplit(':', 1)[0]}, in a "
                f"transaction for {seconds} s, {doing}")

    def migration_running(self, conn: Connection) -> bool:
        name = lock_name(conn.exec_driver_sql("SELECT DATABASE()").scalar() or "")
        return conn.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": name}
                            ).scalar() is not None

    def schema_reader(self) -> ShapeReader:
        return _READER

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


def lock_name(schema: str) -> str:
    """The ``GET_LOCK`` name of migrations of ``schema``: ``nbmigrate:<schema>``, or, past
    the 64 characters MySQL allows or where case would be folded, the schema's first
    characters and a hash of its name."""
    name = f"nbmigrate:{schema}"
    if len(name.encode()) <= 64 and schema == schema.lower():
        return name
    head = schema.encode()[:21].decode(errors="ignore")
    return f"nbmigrate:{head}:{hashlib.sha1(schema.encode()).hexdigest()[:32]}"


def _get_lock(conn: Connection, name: str, timeout: int) -> bool:
    got = conn.execute(text("SELECT GET_LOCK(:name, :timeout)"),
                       {"name": name, "timeout": timeout}).scalar()
    return got == 1


# ----------------------------------------------------------------- test's schema reader


class MySQLShape(ShapeReader):
    """information_schema, for the connection's database."""

    sections = (
        ("SELECT IF(table_type = 'VIEW', 'view', 'table'), '', table_name, '' "
         "FROM information_schema.tables WHERE table_schema = DATABASE() {only}",
         "table_name"),
        ("SELECT 'column', table_name, column_name, CONCAT(column_type, "
         "IF(is_nullable = 'NO', ' NOT NULL', ''), COALESCE(CONCAT(' DEFAULT ', "
         "column_default), ''), IF(extra <> '', CONCAT(' ', extra), '')) "
         "FROM information_schema.columns WHERE table_schema = DATABASE() {only}",
         "table_name"),
        ("SELECT IF(index_name = 'PRIMARY', 'primary key', 'index'), table_name, index_name, "
         "CONCAT(GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ', '), "
         "IF(MAX(non_unique) = 0, ' UNIQUE', '')) FROM information_schema.statistics "
         "WHERE table_schema = DATABASE() {only} GROUP BY table_name, index_name",
         "table_name"),
        ("SELECT 'foreign key', table_name, constraint_name, CONCAT(GROUP_CONCAT(column_name "
         "ORDER BY ordinal_position SEPARATOR ', '), ' -> ', MAX(referenced_table_name), '(', "
         "GROUP_CONCAT(referenced_column_name ORDER BY ordinal_position SEPARATOR ', '), ')') "
         "FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "
         "AND referenced_table_name IS NOT NULL {only} GROUP BY table_name, constraint_name",
         "table_name"),
        ("SELECT 'trigger', event_object_table, trigger_name, action_statement "
         "FROM information_schema.triggers WHERE trigger_schema = DATABASE() {only}",
         "event_object_table"),
    )


_READER = MySQLShape()
