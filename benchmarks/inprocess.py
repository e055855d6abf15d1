"""Alembic's own commands run in this process, over scripts read before any timing.

``alembic.command.upgrade`` builds a ScriptDirectory, which imports every revision
script, on every call; nbmigrate's session keeps its parsed scripts. To compare the
work and not the parse, :class:`InProcess` reads the scripts once and then runs each
command as ``alembic.command`` does: an ``EnvironmentContext`` around
``ScriptDirectory.run_env()`` (env.py runs every time, as it does for a command).
Env.py's ``fileConfig`` is skipped on every side (nbmigrate's env.py skips it when
nbmigrate drives it), so no variant pays for logging set-up or Alembic's INFO lines.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from nbmigrate.engine.runner import preserve_logging


def alembic_config(ini: Path) -> Config:
    """An Alembic Config for ``ini`` that prints nowhere."""
    return Config(str(ini), stdout=io.StringIO())


def read_scripts(ini: Path) -> tuple[ScriptDirectory, float]:
    """A ScriptDirectory with every revision script imported, and how long that took."""
    start = time.perf_counter()
    script = ScriptDirectory.from_config(alembic_config(ini))
    script.revision_map.heads  # noqa: B018 - imports every script
    return script, time.perf_counter() - start


class InProcess:
    """``upgrade`` and ``downgrade`` as ``alembic.command`` runs them, on scripts read
    once, against a URL (env.py connects, as from the command line) or a connection."""

    def __init__(self, ini: Path, script: ScriptDirectory | None = None) -> None:
        self.config = alembic_config(ini)  # one, as alembic.command is handed one
        self.script = script if script is not None else read_scripts(ini)[0]

    def upgrade(self, target: str, *, url: str | None = None,
                connection: Connection | None = None) -> None:
        """``alembic upgrade TARGET``."""
        def steps(rev: Any, _context: Any) -> list:
            return self.script._upgrade_revs(target, rev)

        self._run(steps, target, url, connection)

    def downgrade(self, target: str, *, url: str | None = None,
                  connection: Connection | None = None) -> None:
        """``alembic downgrade TARGET``."""
        def steps(rev: Any, _context: Any) -> list:
            return self.script._downgrade_revs(target, rev)

        self._run(steps, target, url, connection)

    def _run(self, steps: Callable[[Any, Any], list], target: str, url: str | None,
             connection: Connection | None) -> None:
        config = self.config
        if url is not None:
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        config.attributes["connection"] = connection
        with preserve_logging(), EnvironmentContext(
                config, self.script, fn=steps, as_sql=False, starting_rev=None,
                destination_rev=target, tag=None):
            self.script.run_env()
        if connection is not None and connection.in_transaction():
            connection.rollback()  # as the command's own connection closing would
