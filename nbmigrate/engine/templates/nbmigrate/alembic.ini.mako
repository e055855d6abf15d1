# An Alembic configuration written by nbmigrate: the plain `alembic` command
# and `%migrate` in a notebook both read it.

[alembic]
# path to the migration scripts; %(here)s is the directory of this file
script_location = ${script_location}

# sys.path entry so that nbmigrate.metadata's module can be imported
prepend_sys_path = .
path_separator = os

# the database; NBMIGRATE_URL in the environment takes precedence.
# nbmigrate never writes a password here: put it in NBMIGRATE_URL or ~/.pgpass.
sqlalchemy.url =

# the model's MetaData for autogenerate from a terminal, as module:attribute
# (for example myapp.models:Base.metadata); a notebook passes its own.
nbmigrate.metadata =

[post_write_hooks]

# Logging for the plain `alembic` command; a notebook's logging is left alone.
[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
