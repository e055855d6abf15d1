"""Alembic environment written by nbmigrate.

Driven from a notebook, nbmigrate passes the connection, the model's MetaData
and extra ``context.configure()`` options in ``config.attributes``. From a
terminal, the plain ``alembic`` command connects to NBMIGRATE_URL or
``sqlalchemy.url`` and imports the MetaData named by ``nbmigrate.metadata``.
This file imports nothing from nbmigrate, so it runs where only Alembic is.
"""

import importlib
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import MetaData, engine_from_config, pool
from sqlalchemy.engine import make_url

config = context.config
driven_by_nbmigrate = "nbmigrate.configure" in config.attributes

# Only the terminal gets alembic.ini's logging: a notebook's loggers stay as they are.
if not driven_by_nbmigrate and config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Tables nbmigrate keeps in the database for itself; autogenerate leaves them alone.
NBMIGRATE_TABLES = {"nbmigrate_log"}


def target_metadata():
    if "target_metadata" in config.attributes:
        return config.attributes["target_metadata"]
    spec = (config.get_main_option("nbmigrate.metadata") or "").strip()
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    value = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        value = getattr(value, part)
    return value if isinstance(value, MetaData) else value.metadata


def include_name(name, type_, parent_names):
    return not (type_ == "table" and name in NBMIGRATE_TABLES)


def database_url():
    url = config.attributes.get("url") or os.environ.get("NBMIGRATE_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: set NBMIGRATE_URL or sqlalchemy.url in alembic.ini")
    return url


def configure_options(dialect_name):
    options = {
        "target_metadata": target_metadata(),
        "compare_type": True,
        "render_as_batch": dialect_name == "sqlite",
        "include_name": include_name,
    }
    options.update(config.attributes.get("nbmigrate.configure", {}))
    return options


def run_migrations_offline():
    url = database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_options(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection):
    context.configure(connection=connection, **configure_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = engine_from_config(
        {"sqlalchemy.url": database_url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        run_with(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
