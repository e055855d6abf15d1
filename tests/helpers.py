"""What the tests share: notebook cells, a notebook to run them in, the test databases,
readers of database and disk state, terminal commands, and log capture."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent  # the repository

# ------------------------------------------------------------------ cells and models

MODEL_CELL = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy import String

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
"""

MODEL_WITH_EMAIL_CELL = MODEL_CELL + "    email: Mapped[str | None] = mapped_column(String(120))\n"
"""The model cell run again with one more column, users.email."""


OTHER_BASE_CELL = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base2(DeclarativeBase):
    pass

class Order(Base2):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
"""

MODELS_PY = (
    "from sqlalchemy import Column, Integer, MetaData, Table\n"
    "metadata = MetaData()\n"
    "Table('things', metadata, Column('id', Integer, primary_key=True))\n"
)
"""A ``models.py`` module whose ``metadata`` holds one table, things."""


def table_revision(rev: str, table: str, *body: str, message: str = "", options: str = "") -> str:
    """A ``%%migrate revision`` cell whose upgrade() creates ``table``, then runs ``body``."""
    steps = "\n    ".join(body) or "pass"
    return f'''%%migrate revision -m "{message or table}" --rev-id {rev} {options}
def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))
    {steps}

def downgrade():
    op.drop_table("{table}")
'''


def write_revision(nb: Notebook, rev: str, table: str, options: str = "",
                   message: str = "") -> None:
    """Run a :func:`table_revision` cell; the revision must get the id ``rev``."""
    made = nb.ok(table_revision(rev, table, options=options, message=message))
    assert made.revision.revision == rev


def added_tables(diff) -> list[str]:
    """The tables a Diff would create."""
    return [o.table for o in diff.operations if o.op == "add_table"]


# ------------------------------------------------------------------ the notebook


@dataclass
class CellResult:
    """What running one cell showed: its value, printed text and error line, and whether
    Run All would go on after it."""

    result: Any
    stdout: str
    stderr: str
    error: BaseException | None
    outputs: list = field(default_factory=list)
    success: bool = True

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
        """Run one cell as a notebook does, keeping it in the history."""
        from IPython.utils.capture import capture_output

        with capture_output() as cap:
            res = self.shell.run_cell(code, store_history=True)
        error = res.error_before_exec or res.error_in_exec
        return CellResult(res.result, cap.stdout, cap.stderr, error, list(cap.outputs),
                          res.success)

    def ok(self, code: str) -> Any:
        """Run a cell that must succeed; returns its value."""
        out = self.run(code)
        assert out.error is None, f"{code!r} failed: {out.error!r}\n{out.stderr}"
        return out.result


def restarted_notebook() -> Notebook:
    """The in-process shell with nbmigrate loaded anew, as after a kernel restart: a new
    session, no %config NbMigrate.* (the namespace is left to the caller)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.config.pop("NbMigrate", None)
    stale = shell.magics_manager.registry.pop("NbMigrate", None)
    if stale in shell.configurables:
        shell.configurables.remove(stale)
    shell.extension_manager.loaded.discard("nbmigrate")
    notebook = Notebook(shell)
    notebook.ok("%load_ext nbmigrate")
    return notebook


def everything_shown(out: CellResult) -> str:
    """The cell's text, error, rich outputs, and its value as text, HTML and table."""
    return "\n".join([out.shown, *value_views(out.result)])


def value_views(value) -> list[str]:
    """Every way a cell's value shows: text, repr, HTML, and its table as text and HTML."""
    import pandas as pd

    if value is None:
        return []
    views = [str(value), repr(value)]
    if hasattr(value, "_repr_html_"):
        views.append(value._repr_html_() or "")
    frames = [value] if isinstance(value, pd.DataFrame) else []
    if hasattr(value, "to_frame"):
        frames.append(value.to_frame())
    for frame in frames:
        with pd.option_context("display.max_columns", None, "display.width", 10_000):
            views += [frame.to_string(), frame.to_html(), repr(frame)]
    return views


def notebook(*cells: str) -> nbformat.NotebookNode:
    """A notebook of code cells, without outputs."""
    made = nbformat.v4.new_notebook()
    made.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return made


def run_all(nb: nbformat.NotebookNode, directory: Path,
            timeout: int = 120) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh Jupyter kernel started in ``directory``, as Run All does."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(directory)}}).execute()
    return nb


# ------------------------------------------------------------------ test databases

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


def drop_run_databases() -> None:
    """Drop the databases this run created on each server."""
    for kind in _created:
        drop_database(kind, RUN_DATABASE)


def drop_database(kind: str, name: str) -> None:
    """Drop the database ``name`` on the ``kind`` server, ending its sessions first."""
    engine = _admin(sa.make_url(SERVERS[kind]).render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    except sa.exc.SQLAlchemyError:
        pass  # a server that went away keeps a stray database; the next run drops its own
    finally:
        engine.dispose()


@contextmanager
def another_database(kind: str) -> Iterator[str]:
    """The URL of a new, empty database of its own on the ``kind`` server, dropped
    afterwards."""
    name = f"{RUN_DATABASE}_{uuid.uuid4().hex[:8]}"
    engine = _admin(sa.make_url(SERVERS[kind]).render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        engine.dispose()
    try:
        yield sa.make_url(SERVERS[kind]).set(database=name).render_as_string(
            hide_password=False)
    finally:
        drop_database(kind, name)


def empty_schema(url: str) -> None:
    """Drop every table and view (and PostgreSQL type) in the test database."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            else:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                for name in sa.inspect(conn).get_view_names():
                    conn.exec_driver_sql(f"DROP VIEW `{name}`")
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


def with_password(url: str, password: str) -> str:
    """``url`` holding ``password`` if it is PostgreSQL's (its trust auth takes any);
    any other URL as it is (MariaDB's root has none and SQLite has no logins)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


# ------------------------------------------------------------------ database state


def tables(url: str) -> set[str]:
    """The table names in the database at ``url``."""
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def columns(url: str, table: str) -> set[str]:
    """The column names of ``table``."""
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def version(url: str) -> set[str]:
    """The revisions in ``alembic_version`` (empty if none)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return set()
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            return {row[0] for row in rows}
    finally:
        engine.dispose()


# ------------------------------------------------------------------ disk state


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its content, to prove nothing changed."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".db-journal")
    }


def paths(directory: Path) -> set[str]:
    """Every file and folder under ``directory`` (an empty new folder counts as a change)."""
    return {str(p.relative_to(directory)) for p in directory.rglob("*")
            if "__pycache__" not in p.parts and not p.name.endswith(".db-journal")}


# ------------------------------------------------------------------ terminal commands

SCRIPT = Path(sys.executable).with_name("nbmigrate")  # the installed console command


def terminal_environ(pythonpath: Path | None = None, **env: str) -> dict[str, str]:
    """The environment of a fresh terminal: no NBMIGRATE_URL or PYTHONPATH but those given."""
    environ = {k: v for k, v in os.environ.items() if k not in ("NBMIGRATE_URL", "PYTHONPATH")}
    environ.update(env)
    if pythonpath is not None:
        environ["PYTHONPATH"] = str(pythonpath)
    return environ


def nbmigrate(*args: str, cwd: Path, pythonpath: Path | None = None,
              **env: str) -> subprocess.CompletedProcess:
    """Run the console command as a user would in a terminal."""
    command = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "nbmigrate.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          env=terminal_environ(pythonpath, **env), timeout=120)


def alembic(*args: str, cwd: Path, url: str | None = None,
            pythonpath: Path | None = None) -> str:
    """Run the plain `alembic` command in ``cwd`` as a terminal would (NBMIGRATE_URL set
    to ``url`` if given); it must succeed. Returns its stdout."""
    env = {"NBMIGRATE_URL": url} if url else {}
    done = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=cwd,
                          env=terminal_environ(pythonpath, **env),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"alembic {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def team_project(directory: Path, url: str, **sections: str) -> Path:
    """A team's project: `alembic init alembic` in ``directory``, its sqlalchemy.url set
    to ``url``, plus an ini section per keyword (name = URL). Returns its alembic.ini."""
    alembic("init", "alembic", cwd=directory)
    ini = directory / "alembic.ini"
    text = ini.read_text().replace("driver://user:pass@localhost/dbname", url)
    for name, section_url in sections.items():
        text += (f"\n[{name}]\nscript_location = %(here)s/alembic\n"
                 f"sqlalchemy.url = {section_url}\n")
    ini.write_text(text)
    return ini


# ------------------------------------------------------------------ logging


class Remember(logging.Handler):
    """Keeps every log record's message."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a record that cannot format is still a record
            self.messages.append(repr(record.msg))


def wcag_contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """The WCAG contrast ratio of two opaque colours given as 0-255 RGB."""
    def luminance(rgb: tuple[float, ...]) -> float:
        lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
               for c in rgb[:3]]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = luminance(fg), luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)
