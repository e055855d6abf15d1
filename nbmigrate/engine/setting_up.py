"""Setting up: write a new environment, attach an existing one, name the databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .connections import DEFAULT, short_error
from .errors import NbMigrateError
from .metadata import resolve_metadata
from .project import attach_project, init_project, made_before
from .results import ConnectionList, NamedConnection, Note
from .text import heads_text
from .workspace import Workspace


def init(ws: Workspace, directory: str | Path = "migrations", *, url: str | None = None,
         metadata: str | None = None, template: str | None = None) -> Note:
    """Write a new Alembic environment (``alembic init``) and connect to ``url``."""
    database = ws.database_for(url, DEFAULT) if url else None
    if metadata:
        resolve_metadata(metadata, ws.namespace)  # refuse a bad expression before writing
    made = made_before(ws.path(directory), template=template,
                       url=database.url if database else None, metadata_spec=metadata)
    project = made or init_project(ws.path(directory), template=template,
                                   url=database.url if database else None,
                                   metadata_spec=metadata)
    if database is not None:
        ws.databases.add(database, make_default=True)
    if metadata:
        ws.options.metadata = metadata
    ws.use_project(project)
    details = {"scripts": str(project.location), "config": str(project.ini),
               "template": template or "nbmigrate"}
    if database is not None:
        details["database"] = database.masked_url
        if database.url.password:
            details["note"] = "the password is not written to alembic.ini"
    if made is not None:  # a notebook run again: the cell did this already
        return Note(f"using the Alembic environment in {project.location}, made by an "
                    "earlier init with the same options", details)
    return Note(f"created an Alembic environment in {project.location}", details)


def attach(ws: Workspace, path: str | Path) -> Note:
    """Drive an existing Alembic project, found by its alembic.ini."""
    project = attach_project(ws.path(path))
    ws.forget_project()
    ws.use_project(project)
    script = project.script
    details: dict[str, Any] = {
        "scripts": str(project.location),
        "revisions": sum(1 for _ in script.walk_revisions()),
        "heads": heads_text(script.get_heads()),
    }
    for db in ws.databases:
        details[f"connection {db.name}"] = db.masked_url
    return Note(f"attached {project.ini}", details)


def connect(ws: Workspace, target: str, *, name: str | None = None) -> Note:
    """Connect to a URL, or to the Engine / Connection / URL held in a notebook variable."""
    name = name or DEFAULT
    database = ws.database_for(target, name)
    try:
        with database.engine.connect():
            pass
    except SQLAlchemyError as exc:
        if database.owned:
            database.engine.dispose()
        raise NbMigrateError(
            f"cannot connect to {database.masked_url}: {short_error(exc, database.url)}"
        ) from None
    ws.databases.add(database, make_default=name == DEFAULT)
    return Note(f"connected {name}: {database.masked_url} ({database.dialect})")


def connections(ws: Workspace) -> ConnectionList:
    """The named connections, passwords masked."""
    ws.discover()
    return ConnectionList([
        NamedConnection(db.name, db.dialect, db.masked_url,
                        db.name == ws.databases.default_name, db.source)
        for db in ws.databases
    ])
