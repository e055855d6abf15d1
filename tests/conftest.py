"""Shared fixtures: an in-process IPython shell and databases with empty schemas.

PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) tests skip when the
server is down, except in CI (CI=true or NBMIGRATE_REQUIRE_SERVERS=1), where they fail.
The functions behind them are in helpers.py.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    MODEL_CELL,
    MODELS_PY,
    Notebook,
    Remember,
    drop_run_databases,
    empty_schema,
    restarted_notebook,
    server_url,
)

CACHE = tempfile.mkdtemp(prefix="nbmigrate-test-cache-")  # this run's XDG_CACHE_HOME


def pytest_configure(config: pytest.Config) -> None:
    # the terminal's cached revision graphs go to a folder of this run's, not the user's
    os.environ["XDG_CACHE_HOME"] = CACHE


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_run_databases()
    shutil.rmtree(CACHE, ignore_errors=True)


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


@pytest.fixture
def nb(workdir: Path) -> Notebook:
    """A notebook kernel in ``workdir`` with ``%load_ext nbmigrate`` done and a fresh session."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance().reset(new_session=True)
    notebook = restarted_notebook()
    yield notebook
    notebook.shell.reset(new_session=True)


@pytest.fixture
def model_cell() -> str:
    """A notebook cell defining a declarative Base with a users table."""
    return MODEL_CELL


@pytest.fixture
def models(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``models.py`` (MODELS_PY) in the work dir, importable as a kernel started there
    would import it; forgotten again afterwards."""
    monkeypatch.syspath_prepend(str(workdir))
    sys.modules.pop("models", None)
    path = workdir / "models.py"
    path.write_text(MODELS_PY)
    yield path
    sys.modules.pop("models", None)


@pytest.fixture
def log_messages() -> Any:
    """Every message logged while the test runs, at any level."""
    root, handler = logging.getLogger(), Remember()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.messages
    root.removeHandler(handler)
    root.setLevel(level)
