"""6. Real projects' own migrations: `upgrade head` from empty, nbmigrate against Alembic.

optuna's RDB storage and mlflow-skinny's tracking store ship alembic.ini, env.py and
their revisions inside their packages. Each is copied to a temporary folder and
upgraded from an empty database, in alternating rounds, by:

- nbmigrate in a fresh session (attach, then ``upgrade head``: guarded, locked, logged);
- nbmigrate in a warm session (the scripts read once, as in a notebook);
- ``alembic.command.upgrade`` in-process (which reads the scripts on every call);
- the ``alembic`` command line, in a process of its own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.fixtures import Fresh, close_session
from benchmarks.postgres import Server
from benchmarks.timing import Row, alternating, goal


@dataclass(frozen=True)
class Shipped:
    """An Alembic environment inside an installed package."""

    package: str
    ini: str  # alembic.ini, relative to the package
    scripts: str  # the script directory, relative to the package
    prepare: Callable[[sa.Engine], None] | None = None  # what the project runs first

    def root(self) -> Path | None:
        spec = importlib.util.find_spec(self.package)
        return Path(spec.origin).parent if spec and spec.origin else None


def _mlflow_initial_tables(engine: sa.Engine) -> None:
    from mlflow.store.tracking.dbmodels.initial_models import Base

    Base.metadata.create_all(engine)


PROJECTS = {
    "optuna": Shipped("optuna", "storages/_rdb/alembic.ini", "storages/_rdb/alembic"),
    "mlflow": Shipped("mlflow", "store/db_migrations/alembic.ini", "store/db_migrations",
                      _mlflow_initial_tables),
}


def copy(project: Shipped, where: Path) -> Path:
    """The project's scripts copied under ``where``, with an alembic.ini pointing at them;
    its ``sqlalchemy.url`` is set per database by :func:`point`."""
    root = project.root()
    assert root is not None
    shutil.copytree(root / project.scripts, where / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__"))
    ini = where / "alembic.ini"
    ini.write_text(re.sub(r"(?m)^script_location\s*=.*$", "script_location = %(here)s/scripts",
                          (root / project.ini).read_text()))
    return ini


def point(ini: Path, url: str) -> None:
    """Set the ini's ``sqlalchemy.url`` (what plain ``alembic`` connects to)."""
    ini.write_text(re.sub(r"(?m)^sqlalchemy\.url\s*=.*$",
                          "sqlalchemy.url = " + url.replace("%", "%%"), ini.read_text()))


def upgrades(tmp: Path, runs: int, servers: dict[str, Server | None],
             names: tuple[str, ...] = tuple(PROJECTS)) -> list[Row]:
    """Rows for each installed project on each dialect in ``servers`` (name: the server,
    None for SQLite files)."""
    rows = []
    for name in names:
        project = PROJECTS[name]
        if project.root() is None:
            print(f"6. {name} is not installed: skipped (pip install -e '.[test]')")
            continue
        for dialect, server in servers.items():
            rows += _on(tmp / f"{name}-{dialect}", project, name, dialect, server, runs)
    return rows


def _on(where: Path, project: Shipped, name: str, dialect: str, server: Server | None,
        runs: int) -> list[Row]:
    from alembic import command
    from alembic.config import Config

    from nbmigrate.engine import Session
    from nbmigrate.engine.runner import preserve_logging

    where.mkdir(parents=True)
    ini = copy(project, where)
    databases = Fresh(where / "databases", server)
    state: dict[str, Any] = {}

    def fresh() -> None:
        """A new empty database, prepared as the project prepares one."""
        for session in state.pop("sessions", []):
            close_session(session)  # before its database is dropped
        url = databases()
        if project.prepare is not None:
            engine = sa.create_engine(url)
            project.prepare(engine)
            engine.dispose()
        point(ini, url)
        state["url"] = url

    def cold() -> None:
        session = Session()
        session.attach(ini)
        session.upgrade("head")
        close_session(session)

    warm = Session()
    warm.attach(ini)
    warm.history()  # the scripts read once

    def warm_upgrade() -> None:
        warm.connect(state["url"])
        state["sessions"] = [warm]
        warm.upgrade("head")

    def in_process() -> None:
        with contextlib.redirect_stdout(io.StringIO()), preserve_logging():
            command.upgrade(Config(str(ini), stdout=io.StringIO()), "head")

    def cli() -> None:
        subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
                       cwd=where, capture_output=True, check=True)

    try:
        rounds = alternating({"cold": cold, "warm": warm_upgrade, "alembic": in_process,
                              "cli": cli}, runs, fresh)
    finally:
        close_session(warm)
        databases.close()
    label = f"6. {name}: upgrade head from empty ({dialect})"
    fresh_session, warm_session = (rounds.ratio(k, "alembic") for k in ("cold", "warm"))
    return [
        Row(label, "%migrate (fresh session: attach + upgrade)", rounds.median("cold"),
            "alembic.command", fresh_session, goal(fresh_session, "<=", 0.8)),
        Row(label, "%migrate (warm session)", rounds.median("warm"), "alembic.command",
            warm_session, goal(warm_session, "<=", 0.8)),
        Row(label, "alembic.command.upgrade", rounds.median("alembic"),
            note="reads the scripts on every call, as the project's users run it"),
        Row(label, "alembic CLI process", rounds.median("cli"), "alembic.command",
            rounds.ratio("cli", "alembic")),
    ]
