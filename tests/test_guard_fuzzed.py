"""Generated revision bodies against the guard (Hypothesis).

Each example is a revision whose ``upgrade()`` is a few statements drawn from ``op``
calls, raw SQL in several spellings and ``op.get_bind()``, on two tables with rows and
one empty table. Whatever the body: a dry run changes nothing; an upgrade refused
without ``--yes`` changes nothing; and an upgrade the guard lets through has lost no
value that was there (every non-null cell of every row is still in place).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import empty_schema, server_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmigrate.engine import NbMigrateError, Session
from nbmigrate.engine.errors import DestructiveChange

TABLES = {"a": ["id", "v", "w"], "b": ["id", "v", "w"], "c": ["id", "v", "w"]}
ROWS = {"a": 4, "b": 2, "c": 0}


def statements(table: str) -> st.SearchStrategy[str]:
    """One line of upgrade() that touches ``table``: losing, harmless, or failing."""
    column = st.sampled_from(["v", "w"])
    k = st.integers(min_value=-1, max_value=5)
    return st.one_of(
        st.just(f'op.drop_table("{table}")'),
        column.map(lambda c: f'op.drop_column("{table}", "{c}")'),
        column.map(lambda c: f'with op.batch_alter_table("{table}") as b:\n        '
                             f'b.drop_column("{c}")'),
        k.map(lambda n: f'op.execute("DELETE FROM {table} WHERE id > {n}")'),
        k.map(lambda n: f'op.execute("-- tidy\\ndelete from {table} where id = {n}")'),
        k.map(lambda n: f'op.get_bind().exec_driver_sql("DELETE FROM {table} WHERE id < {n}")'),
        st.just(f'op.get_bind().exec_driver_sql("DROP TABLE IF EXISTS {table}")'),
        st.just(f'op.execute("/* keep */ UPDATE {table} SET v = v")'),
        st.just(f'op.add_column("{table}", sa.Column("extra", sa.Integer))'),
        st.just(f'op.execute("ALTER TABLE {table} ADD COLUMN note VARCHAR(5)")'),
        st.just(f'op.execute("ALTER TABLE {table} DROP COLUMN w")'),
        st.just(f'op.create_index("ix_{table}_v", "{table}", ["v"])'),
    )


BODIES = st.lists(st.sampled_from(sorted(TABLES)).flatmap(statements), min_size=1, max_size=4)


def seed(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table, count in ROWS.items():
            conn.exec_driver_sql(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, "
                                 "v VARCHAR(10), w INTEGER)")
            for i in range(count):
                conn.exec_driver_sql(f"INSERT INTO {table} (id, v, w) VALUES "
                                     f"({i}, 'x{i}', {i if i % 2 else 'NULL'})")
    engine.dispose()


def cells(url: str) -> set[tuple]:
    """Every non-null value there: (table, column, id, value)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = set()
            for name in sa.inspect(conn).get_table_names():
                if name in TABLES:
                    for row in conn.exec_driver_sql(f"SELECT * FROM {name}").mappings():
                        found |= {(name, col, row["id"], repr(value))
                                  for col, value in row.items() if value is not None}
            return found
    finally:
        engine.dispose()


def fresh(kind: str, where: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{where / 'fuzz.db'}"
    else:
        url = server_url(kind)
        empty_schema(url)
    seed(url)
    return url


def check(kind: str, body: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        url = fresh(kind, where)
        session = Session(workdir=where)
        try:
            session.init("migrations", url=url)
            lines = "\n    ".join(body)
            session.revision("fuzzed", rev_id="r1",
                             body=f"def upgrade():\n    {lines}\n\n\ndef downgrade():\n    pass\n")
            before = cells(url)
            session.upgrade("head", dry_run=True)
            assert cells(url) == before, "a dry run changed the data"
            try:
                session.upgrade("head")
            except DestructiveChange as exc:
                if "were kept" not in str(exc):  # refused before anything ran (all but
                    assert cells(url) == before, f"refused, yet data changed: {exc}"
                return  # MySQL's stop right before an unforeseen loss)
            except NbMigrateError:
                if kind != "mysql":  # MySQL keeps the DDL that ran before a failure
                    assert cells(url) == before, "a failed upgrade changed the data"
                return
            lost = before - cells(url)
            assert not lost, f"the guard let {sorted(lost)[:3]} be lost"
        finally:
            for database in session.databases:
                database.engine.dispose()


def fuzz(examples: int) -> settings:
    """Seeded (a failure reproduces), no deadline (databases vary), no example database."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@fuzz(60)
@given(body=BODIES)
def test_generated_bodies_on_sqlite(body):
    check("sqlite", body)


@pytest.mark.server
@fuzz(25)
@given(body=BODIES)
def test_generated_bodies_on_postgresql(body):
    check("postgresql", body)


@pytest.mark.server
@fuzz(20)
@given(body=BODIES)
def test_generated_bodies_on_mariadb(body):
    check("mysql", body)


# --- the guard's fast path reads what the parser reads

_WORD = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True) | st.sampled_from(
    ["select", "user", "key", "index", "values", "order", "Table"])  # keywords: parsed
_QUOTES = {"sqlite": '"', "postgresql": '"', "mysql": "`"}


@st.composite
def names(draw: st.DrawFn, dialect: str, *, schema: bool = True) -> str:
    """A table, column or index name as a script may spell it: any case, maybe quoted,
    maybe with a schema."""
    def one() -> str:
        word = draw(_WORD)
        quote = draw(st.sampled_from(["", _QUOTES[dialect]]))
        return f"{quote}{word}{quote}"

    return f"{one()}.{one()}" if schema and draw(st.booleans()) else one()


@st.composite
def plain_ddl(draw: st.DrawFn, dialect: str) -> str:
    """One of the statements the guard reads without its parser."""
    table, other = draw(names(dialect)), draw(names(dialect))
    columns = draw(st.lists(names(dialect, schema=False), min_size=1, max_size=3))
    listed = ", ".join(columns)
    return draw(st.sampled_from([
        f"DROP TABLE {table}",
        f"DROP TABLE IF EXISTS {table}",
        f"ALTER TABLE {table} RENAME TO {draw(names(dialect, schema=False))}",
        f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {other}",
        f"CREATE TABLE {table} (id INTEGER NOT NULL, {columns[0]} VARCHAR(20), UNIQUE (id))",
        f"CREATE INDEX {draw(names(dialect, schema=False))} ON {table} ({listed})",
        f"CREATE UNIQUE INDEX {draw(names(dialect, schema=False))} ON {table} ({listed})",
    ]))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_statements_read_without_the_parser_read_as_the_parser_reads_them(dialect, data):
    from nbmigrate.engine.statements import classify, plain

    sql = data.draw(plain_ddl(dialect))
    fast = plain(sql, dialect)
    assert fast is None or fast == classify(sql, dialect), sql  # None: left to the parser
    if fast and fast[0].kind == "copy":  # and the columns a copy carries, which it measures
        assert carried(fast[0]) == carried(classify(sql, dialect)[0]), sql


def carried(copy) -> list[str]:
    """The columns a copy's SELECT carries, as measuring a later drop reads them."""
    from sqlglot import exp

    return [c.name.lower() for c in copy.source.find_all(exp.Column)]


@pytest.mark.parametrize("sql", [
    "CREATE TABLE _alembic_tmp_t (id INTEGER NOT NULL, name VARCHAR(20), UNIQUE (name))",
    "INSERT INTO _alembic_tmp_t (id, name) SELECT t.id, t.name FROM t",
    "DROP TABLE t",
    "ALTER TABLE _alembic_tmp_t RENAME TO t",
    "CREATE UNIQUE INDEX ix_t_name ON t (name)",
])
def test_alembic_batch_statements_take_the_fast_path(sql):
    from nbmigrate.engine.statements import classify, plain

    assert plain(sql, "sqlite") == classify(sql, "sqlite") is not None
