"""Shared fixtures: an in-process IPython shell and databases with empty schemas.

PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) tests skip when the
server is down, except in CI (CI=true or NBMIGRATE_REQUIRE_SERVERS=1), where they fail.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import MODEL_CELL

SERVERS = {
    "postgresql": os.environ.get(
        "NBMIGRATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("NBMIGRATE_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
REQUIRE_SERVERS = (
    os.environ.get("NBMIGRATE_REQUIRE_SERVERS") == "1" or os.environ.get("CI") == "true"
)
# Each pytest run works in its own database on each server, so two runs at once
# (a developer's and a helper's, say) never drop each other's tables.
RUN_DATABASE = f"nbmigrate_test_{os.getpid()}"
_created: dict[str, str] = {}


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def run_database(kind: str) -> str:
    """The URL of this run's own database on the ``kind`` server, created on first use."""
    if kind not in _created:
        base = sa.make_url(SERVERS[kind])
        engine = _admin(base.render_as_string(hide_password=False))
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {RUN_DATABASE}")
                conn.exec_driver_sql(f"CREATE DATABASE {RUN_DATABASE}")
        finally:
            engine.dispose()
        _created[kind] = base.set(database=RUN_DATABASE).render_as_string(hide_password=False)
    return _created[kind]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for kind in _created:
        engine = _admin(sa.make_url(SERVERS[kind]).render_as_string(hide_password=False))
        try:
            with engine.connect() as conn:
                if kind == "postgresql":
                    conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{RUN_DATABASE}' AND pid <> pg_backend_pid()")
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {RUN_DATABASE}")
        except sa.exc.SQLAlchemyError:
            pass  # a server that went away keeps a stray database; the next run drops its own
        finally:
            engine.dispose()


def empty_schema(url: str) -> None:
    """Drop every table (and PostgreSQL type) in the test database."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            else:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                for name in sa.inspect(conn).get_table_names():
                    conn.exec_driver_sql(f"DROP TABLE `{name}`")
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
    finally:
        engine.dispose()


def server_url(kind: str) -> str:
    """This run's database on a running server, emptied; skip (or fail in CI) if down."""
    try:
        url = run_database(kind)
        empty_schema(url)
    except sa.exc.OperationalError as exc:
        shown = sa.make_url(SERVERS[kind]).render_as_string(hide_password=True)
        message = f"{kind} server not reachable at {shown}: {str(exc).splitlines()[0]}"
        if REQUIRE_SERVERS:
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A database URL with an empty schema: SQLite file, PostgreSQL, MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = server_url(request.param)
    yield url
    empty_schema(url)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory for the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBMIGRATE_URL", raising=False)
    return tmp_path


@dataclass
class CellResult:
    """What running one cell showed: its value, printed text and error line."""

    result: Any
    stdout: str
    stderr: str
    error: BaseException | None
    outputs: list = field(default_factory=list)

    @property
    def error_line(self) -> str:
        return str(self.error) if self.error is not None else ""

    @property
    def shown(self) -> str:
        """Everything a user sees: text, error, and each rich output's text and HTML."""
        parts = [self.stdout, self.stderr, self.error_line]
        for out in self.outputs:
            parts.extend(str(v) for v in out.data.values())
        return "\n".join(parts)


class Notebook:
    """An in-process IPython shell with nbmigrate loaded, run cell by cell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    @property
    def ns(self) -> dict:
        return self.shell.user_ns

    def run(self, code: str) -> CellResult:
        from IPython.utils.capture import capture_output

        with capture_output() as cap:
            res = self.shell.run_cell(code, store_history=True)
        error = res.error_before_exec or res.error_in_exec
        return CellResult(res.result, cap.stdout, cap.stderr, error, list(cap.outputs))

    def ok(self, code: str) -> Any:
        """Run a cell that must succeed; returns its value."""
        out = self.run(code)
        assert out.error is None, f"{code!r} failed: {out.error!r}\n{out.stderr}"
        return out.result


@pytest.fixture
def nb(workdir: Path) -> Notebook:
    """A notebook kernel in ``workdir`` with ``%load_ext nbmigrate`` done and a fresh session."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.reset(new_session=True)
    shell.config.pop("NbMigrate", None)  # a new kernel has no %config NbMigrate.* yet
    stale = shell.magics_manager.registry.pop("NbMigrate", None)
    if stale in shell.configurables:
        shell.configurables.remove(stale)
    shell.extension_manager.loaded.discard("nbmigrate")
    notebook = Notebook(shell)
    notebook.ok("%load_ext nbmigrate")
    yield notebook
    shell.reset(new_session=True)




@pytest.fixture
def model_cell() -> str:
    """A notebook cell defining a declarative Base with a users table."""
    return MODEL_CELL
