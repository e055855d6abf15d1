"""The guard against a catalogue of scripts: every form that loses data is refused with its
exact count and changes nothing; every harmless form runs without ``--yes``.

Each case is one revision's ``upgrade()`` body, run on a small populated schema over a
real connection (SQLite, PostgreSQL, MariaDB). For a losing form: ``--dry-run`` changes
nothing (a full dump of schema and rows is compared), the upgrade is refused with the
count in its one line, nothing changed again, and ``--yes`` applies it. For a harmless
form: the upgrade runs without being asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from nbmigrate.engine import NbMigrateError, Session
from nbmigrate.engine.errors import DestructiveChange

PG, MY, LITE = "postgresql", "mysql", "sqlite"
ALL = (PG, MY, LITE)


@dataclass(frozen=True)
class Case:
    name: str
    body: str  # the lines of upgrade()
    expect: str  # in the refusal line (a loss), or "" (harmless)
    dialects: tuple[str, ...] = ALL
    applies: bool = True  # with --yes it runs (else the database refuses it itself)

    def __str__(self) -> str:
        return self.name


LOSSES = [
    Case("op.drop_table", 'op.drop_table("u")', "drop_table u (3 row(s) dropped)"),
    Case("op.drop_column", 'op.drop_column("t", "s")', "drop_column t.s (2 non-null value(s)"),
    Case("raw ALTER DROP COLUMN", 'op.execute("ALTER TABLE t DROP COLUMN s")',
         "drop_column t.s (2 non-null"),
    Case("DROP after a line comment", 'op.execute("-- tidy up\\nDROP TABLE u")',
         "drop_table u (3 row(s)"),
    Case("DROP after a block comment", 'op.execute("/* tidy up */ DROP TABLE u")',
         "drop_table u (3 row(s)"),
    Case("DROP after blank lines", 'op.execute("\\n\\n   DROP TABLE u")', "drop_table u (3 row"),
    Case("mixed case", 'op.execute("Drop Table u")', "drop_table u (3 row"),
    Case("SELECT then DROP in one string", 'op.execute("SELECT 1; DROP TABLE u")',
         "drop_table u (3 row", (PG,)),
    Case("DELETE in a CTE", 'op.execute("WITH g AS (DELETE FROM u WHERE id > 1 RETURNING *) '
         'SELECT count(*) FROM g")', "delete u (2 row(s) deleted)", (PG,)),
    Case("DROP in a DO block", 'op.execute("DO $$ BEGIN DROP TABLE u; END $$")',
         "drop_table u (3 row", (PG,)),
    Case("dynamic SQL in a DO block", 'op.execute("DO $$ BEGIN EXECUTE \'DROP TABLE u\'; END $$")',
         "it can reach u (3 row(s))", (PG,)),
    Case("get_bind exec_driver_sql", 'op.get_bind().exec_driver_sql("DROP TABLE u")',
         "drop_table u (3 row"),
    Case("get_bind text DELETE", 'op.get_bind().execute(sa.text("DELETE FROM u WHERE note IS NOT '
         'NULL"))', "delete u (2 row(s) deleted)"),
    Case("DELETE everything", 'op.execute("DELETE FROM u")', "delete u (3 row(s) deleted)"),
    Case("lower-case DELETE with IN", 'op.execute("delete from u where id in (1, 2)")',
         "delete u (2 row(s) deleted)"),
    Case("DELETE with a bound parameter",
         'op.execute(sa.text("DELETE FROM u WHERE id = :i").bindparams(i=1))',
         "delete u (1 row(s) deleted)"),
    Case("DELETE with a subquery",
         'op.execute("DELETE FROM u WHERE t_id IN (SELECT id FROM t WHERE s = \'alpha\')")',
         "delete u (2 row(s) deleted)"),
    Case("DELETE USING", 'op.execute("DELETE FROM u USING t WHERE u.t_id = t.id AND t.s = '
         '\'alpha\'")', "delete u (2 row(s) deleted)", (PG,)),
    Case("TRUNCATE", 'op.execute("TRUNCATE TABLE u")', "truncate u (3 row(s) removed)", (PG, MY)),
    Case("TRUNCATE CASCADE", 'op.execute("TRUNCATE t CASCADE")', "(6 row(s) removed)", (PG,)),
    Case("DROP TABLE IF EXISTS of a full table", 'op.execute("DROP TABLE IF EXISTS u")',
         "drop_table u (3 row"),
    Case("DROP two tables", 'op.execute("DROP TABLE u, empty_t")', "drop_table u (3 row",
         (PG, MY)),
    Case("DROP TABLE CASCADE", 'op.execute("DROP TABLE t CASCADE")', "drop_table t (3 row",
         (PG,)),
    Case("reading raises before a drop", 'from alembic import context\n    '
         'context.get_x_argument(as_dictionary=True)\n    op.drop_column("t", "s")',
         "drop_column t.s (2 non-null"),
    Case("backfill through get_bind, then drop the old column",
         'op.add_column("t", sa.Column("s2", sa.String(20)))\n    '
         'op.get_bind().exec_driver_sql("UPDATE t SET s2 = s")\n    op.drop_column("t", "s")',
         "drop_column t.s (2 non-null"),
    Case("raw rename, then drop the new name",
         'op.execute("ALTER TABLE u RENAME TO u2")\n    op.drop_table("u2")',
         "drop_table u2 (3 row"),
    Case("batch drop_column", 'with op.batch_alter_table("t") as b:\n        b.drop_column("s")',
         "drop_column t.s (2 non-null"),
    Case("double to real", 'op.alter_column("t", "x", type_=sa.REAL(), '
         'existing_type=sa.Float(precision=53))', "alter_type t.x (1 value(s) changed", (PG, MY)),
    Case("numeric to numeric(10,2)", 'op.alter_column("t", "n", type_=sa.Numeric(10, 2), '
         'existing_type=sa.Numeric())', "alter_type t.n (1 value(s) changed", (PG, MY)),
    Case("timestamp(6) to timestamp(0)", 'op.execute("ALTER TABLE t ALTER COLUMN ts TYPE '
         'TIMESTAMP(0)")', "alter_type t.ts (1 value(s) changed", (PG,)),
    Case("datetime(6) to datetime", 'op.execute("ALTER TABLE t MODIFY ts DATETIME")',
         "alter_type t.ts (1 value(s) changed", (MY,)),
    Case("varchar narrowed", 'op.alter_column("t", "s", type_=sa.String(3), '
         'existing_type=sa.String(20))', "alter_type t.s (2 value(s) changed", (PG, MY),
         applies=False),
    Case("bigint to smallint", 'op.alter_column("t", "big", type_=sa.SmallInteger(), '
         'existing_type=sa.BigInteger())', "alter_type t.big (1 value(s) changed", (PG, MY),
         applies=False),
    Case("MySQL CHANGE renames and narrows", 'op.execute("ALTER TABLE t CHANGE s s2 VARCHAR(3)")',
         "alter_type t.s (2 value(s) changed", (MY,), applies=False),
    Case("MySQL enum value dropped", 'op.execute("ALTER TABLE t MODIFY mood ENUM(\'sad\', '
         '\'ok\')")', "alter_type t.mood (1 value(s) changed", (MY,), applies=False),
    Case("PostgreSQL enum value dropped",
         'op.execute("CREATE TYPE mood2 AS ENUM (\'sad\', \'ok\')")\n    '
         'op.execute("ALTER TABLE t ALTER COLUMN mood TYPE mood2 USING mood::text::mood2")',
         "alter_type t.mood (1 value(s) changed", (PG,), applies=False),
    Case("JSON column dropped", 'op.drop_column("t", "doc")', "drop_column t.doc (2 non-null"),
    Case("array column dropped", 'op.drop_column("t", "tags")', "drop_column t.tags (2 non-null",
         (PG,)),
    Case("DROP TYPE CASCADE drops the column", 'op.execute("DROP TYPE mood CASCADE")',
         "drop_type mood (2 non-null value(s) dropped", (PG,)),
    Case("DROP SCHEMA CASCADE", 'op.execute("DROP SCHEMA side CASCADE")',
         "(2 row(s) dropped with the schema)", (PG,)),
    Case("a table dropped after a partial copy", 'op.execute("CREATE TABLE u_ids AS '
         'SELECT id FROM u")\n    op.drop_table("u")', "drop_table u (3 row"),
    Case("float to integer in batch mode", 'with op.batch_alter_table("t") as b:\n        '
         'b.alter_column("x", type_=sa.Integer(), existing_type=sa.Float(precision=53))',
         "alter_type t.x (2 value(s) changed"),
    Case("batch drop and add", 'with op.batch_alter_table("t") as b:\n        '
         'b.drop_column("s")\n        b.add_column(sa.Column("s3", sa.String(20)))',
         "drop_column t.s (2 non-null"),
    Case("batch recreate always", 'with op.batch_alter_table("u", recreate="always") as b:\n'
         '        b.drop_column("note")', "drop_column u.note (2 non-null", (PG, LITE)),
    Case("a copy by hand that leaves a column out",
         'op.execute("CREATE TABLE u_new (id INTEGER PRIMARY KEY, t_id INTEGER)")\n    '
         'op.execute("INSERT INTO u_new (id, t_id) SELECT id, t_id FROM u")\n    '
         'op.execute("DROP TABLE u")', "drop_column u.note (2 non-null"),
    Case("a copy by hand that leaves rows out",
         'op.execute("CREATE TABLE u_new (id INTEGER PRIMARY KEY, t_id INTEGER, note '
         'VARCHAR(10))")\n    op.execute("INSERT INTO u_new (id, t_id, note) SELECT id, t_id, '
         'note FROM u WHERE id < 3")\n    op.execute("DROP TABLE u")',
         "delete u (1 row(s) not copied)"),
    Case("DELETE by rowid subquery", 'op.execute("DELETE FROM u WHERE rowid IN (SELECT rowid '
         'FROM u ORDER BY id LIMIT 2)")', "delete u (2 row(s) deleted)", (LITE,)),
    Case("schema-qualified DROP", 'op.execute("DROP TABLE main.u")', "drop_table u (3 row",
         (LITE,)),
    Case("a batch change, then the table dropped",
         'with op.batch_alter_table("u") as b:\n        b.add_column(sa.Column("k", sa.Integer))'
         '\n    op.drop_table("u")', "drop_table u (3 row"),
    Case("several losses in one revision", 'op.drop_column("t", "s")\n    op.drop_table("u")',
         "drop_column t.s (2 non-null value(s) dropped); r_case: drop_table u (3 row"),
]

HARMLESS = [
    Case("DROP VIEW", 'op.execute("DROP VIEW v")', ""),
    Case("drop_index", 'op.drop_index("ix_t_big", table_name="t")', ""),
    Case("DROP FUNCTION", 'op.execute("DROP FUNCTION touch() CASCADE")', "", (PG,)),
    Case("DROP TRIGGER", 'op.execute("DROP TRIGGER tr ON t")', "", (PG,)),
    Case("DROP TRIGGER (SQLite, MariaDB)", 'op.execute("DROP TRIGGER tr")', "", (LITE, MY)),
    Case("DROP SEQUENCE", 'op.execute("DROP SEQUENCE seq")', "", (PG,)),
    Case("DROP TYPE of an unused enum", 'op.execute("DROP TYPE unused")', "", (PG,)),
    Case("DROP TABLE IF EXISTS of a missing table", 'op.execute("DROP TABLE IF EXISTS nope")', ""),
    Case("TRUNCATE of an empty table", 'op.execute("TRUNCATE TABLE empty_t")', "", (PG, MY)),
    Case("DELETE WHERE false", 'op.execute("DELETE FROM u WHERE 1 = 0")', ""),
    Case("DELETE that matches nothing", 'op.execute("DELETE FROM u WHERE id > 100")', ""),
    Case("drop an empty table", 'op.drop_table("empty_t")', ""),
    Case("drop an all-NULL column", 'op.drop_column("t", "blank")', ""),
    Case("batch drop of an all-NULL column",
         'with op.batch_alter_table("t") as b:\n        b.drop_column("blank")', ""),
    Case("widen a VARCHAR", 'with op.batch_alter_table("t") as b:\n        '
         'b.alter_column("s", type_=sa.String(50), existing_type=sa.String(20))', ""),
    Case("UPDATE (a data migration)", 'op.execute("UPDATE t SET s = upper(s)")', ""),
    Case("SELECT", 'op.execute("SELECT 1")', ""),
    Case("drop a foreign key", 'op.drop_constraint("fk_u_t", "u", type_="foreignkey")', "",
         (PG, MY)),
    Case("rename a table", 'op.rename_table("u", "u2")', ""),
    Case("a copy by hand of everything, then the drop",
         'op.execute("CREATE TABLE u_new (id INTEGER PRIMARY KEY, t_id INTEGER, note '
         'VARCHAR(10))")\n    op.execute("INSERT INTO u_new (id, t_id, note) SELECT id, t_id, '
         'note FROM u")\n    op.execute("DROP TABLE u")', ""),
    Case("drop a column added in the same revision",
         'op.add_column("t", sa.Column("tmp", sa.Integer))\n    op.drop_column("t", "tmp")', ""),
    Case("batch recreate keeping every column",
         'with op.batch_alter_table("u", recreate="always") as b:\n'
         '        b.add_column(sa.Column("k", sa.Integer))', "", (PG, LITE)),
    Case("add a column and an index", 'op.add_column("t", sa.Column("k", sa.Integer))\n    '
         'op.create_index("ix_t_k", "t", ["k"])', ""),
]


def seed(url: str) -> None:
    """t (3 rows), u (3 rows pointing at t), empty_t, a view, an index, and per dialect a
    trigger, a function, a sequence, types and a second schema."""
    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    timestamp = {PG: "TIMESTAMP(6)", MY: "DATETIME(6)"}.get(dialect, "TIMESTAMP")
    json = {PG: "JSONB", MY: "JSON"}.get(dialect, "TEXT")
    numeric = "NUMERIC" if dialect == PG else "NUMERIC(20, 6)"
    mood = {MY: "ENUM('sad', 'ok', 'happy')"}.get(dialect, "VARCHAR(10)")
    with engine.begin() as c:
        run = c.exec_driver_sql
        if dialect == PG:
            run("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
            run("CREATE TYPE unused AS ENUM ('a')")
            mood = "mood"
        tags = ", tags TEXT[]" if dialect == PG else ""
        run(f"CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(20), x DOUBLE PRECISION, "
            f"n {numeric}, ts {timestamp}, big BIGINT, blank VARCHAR(5), mood {mood}, "
            f"doc {json}{tags})")
        run("CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER, note VARCHAR(10), "
            "CONSTRAINT fk_u_t FOREIGN KEY (t_id) REFERENCES t (id))")
        run("CREATE TABLE empty_t (id INTEGER PRIMARY KEY)")
        run("CREATE INDEX ix_t_big ON t (big)")
        run("CREATE TABLE viewed (id INTEGER PRIMARY KEY)")
        run("CREATE VIEW v AS SELECT id FROM viewed")
        array = ", '{a,b}'" if dialect == PG else ""
        empty = ", NULL" if dialect == PG else ""
        run("INSERT INTO t (id, s, x, n, ts, big, mood, doc" + (", tags" if tags else "") +
            ") VALUES (1, 'alpha', 0.1, 1.234567, '2024-01-01 10:00:00.123456', 1, 'sad', "
            f"'{{\"a\": 1}}'{array}), (2, 'beta', 2.5, 2.5, '2024-01-02 10:00:00', 100000, "
            f"'happy', '[1]'{array}), (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL{empty})")
        run("INSERT INTO u (id, t_id, note) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, NULL)")
        if dialect == PG:
            run("CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ "
                "LANGUAGE plpgsql")
            run("CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()")
            run("CREATE SEQUENCE seq")
            run("DROP SCHEMA IF EXISTS side CASCADE")
            run("CREATE SCHEMA side")
            run("CREATE TABLE side.kept (id INTEGER PRIMARY KEY)")
            run("INSERT INTO side.kept VALUES (1), (2)")
        elif dialect == MY:
            run("CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET NEW.big = NEW.big")
        else:
            run("CREATE TRIGGER tr BEFORE UPDATE ON t BEGIN SELECT 1; END")
    engine.dispose()


def dump(url: str) -> dict:
    """Every table's columns and rows, the views, the version: what a change would alter."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            inspector = sa.inspect(c)
            out = {"views": sorted(inspector.get_view_names())}
            schemas = ["side"] if engine.dialect.name == PG and "side" in \
                inspector.get_schema_names() else []
            for schema in [None, *schemas]:
                for name in sorted(inspector.get_table_names(schema=schema)):
                    if name == "nbmigrate_log":
                        continue
                    table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=c)
                    cols = [(col.name, str(col.type)) for col in table.columns]
                    rows = sorted(tuple(map(repr, r)) for r in c.execute(sa.select(table)))
                    out[f"{schema}.{name}"] = (cols, rows)
            return out
    finally:
        engine.dispose()


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> tuple[Session, str]:
    seed(db_url)
    session = Session(workdir=tmp_path)
    session.init("migrations", url=db_url)
    session.revision("start", rev_id="r_start")
    session.upgrade("head")
    yield session, db_url
    for engine in (d.engine for d in session.databases):
        engine.dispose()


def write(session: Session, case: Case) -> None:
    body = f"def upgrade():\n    {case.body}\n\n\ndef downgrade():\n    pass\n"
    session.revision(case.name, rev_id="r_case", body=body)


def pairs(kind: list[Case]) -> list:
    """Each case on each database it is a form of."""
    return [pytest.param(c, dialect, id=f"{dialect}-{c.name.replace(' ', '-')}")
            for c in kind for dialect in c.dialects]


@pytest.mark.parametrize(("case", "db_url"), pairs(LOSSES), indirect=["db_url"])
def test_every_losing_form_is_refused_with_its_count_and_changes_nothing(seeded, case):
    session, url = seeded
    before = dump(url)
    write(session, case)
    plan = session.upgrade("head", dry_run=True)
    assert dump(url) == before  # a dry run never changes anything
    assert plan.destructive, plan
    with pytest.raises(DestructiveChange) as refused:
        session.upgrade("head")
    line = str(refused.value)
    assert case.expect in line and "\n" not in line and "Nothing changed" in line
    assert dump(url) == before
    assert session.current().revisions == ("r_start",)
    if case.applies:
        done = session.upgrade("head", yes=True)
        assert [s.revision for s in done.steps] == ["r_case"]


@pytest.mark.parametrize(("case", "db_url"), pairs(HARMLESS), indirect=["db_url"])
def test_harmless_forms_are_never_refused(seeded, case):
    session, url = seeded
    write(session, case)
    before = dump(url)
    plan = session.upgrade("head", dry_run=True)
    assert dump(url) == before and plan.destructive == [], plan
    try:
        session.upgrade("head")
    except NbMigrateError as exc:
        pytest.fail(f"{case.name} was refused or failed: {exc}")
    assert session.current().revisions == ("r_case",)


def test_the_catalogue_is_as_large_as_promised():
    per_database = {d: sum(d in c.dialects for c in LOSSES) for d in ALL}
    assert len(LOSSES) >= 40 and min(per_database.values()) >= 25, per_database
    assert min(sum(d in c.dialects for c in HARMLESS) for d in ALL) >= 15
