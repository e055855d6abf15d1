"""On PostgreSQL an upgrade's DDL and savepoints go through psycopg's pipeline mode, waited
for only where a result is read. What the user sees must not change: a statement that
fails is named as itself (not the version-row UPDATE its error surfaced at), its revision
alone is undone, reads inside a revision see what it queued before them, and statements
the pipeline cannot carry (several commands, a DO body) still run."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import columns, empty_schema, server_url, table_revision, tables, version
from test_audit_log import logged


@pytest.fixture
def pg(workdir) -> str:
    url = server_url("postgresql")
    yield url
    empty_schema(url)


def revision(rev: str, *body: str, message: str = "") -> str:
    """A ``%%migrate revision`` cell whose upgrade() is ``body``."""
    lines = "\n    ".join(body)
    return f'''%%migrate revision -m "{message or rev}" --rev-id {rev}
def upgrade():
    {lines}

def downgrade():
    pass
'''


def project(nb, url: str, *cells: str) -> None:
    nb.ok(f"%migrate init migrations --url {url}")
    for cell in cells:
        nb.ok(cell)


def stops_at_r2(nb, url: str, *body: str) -> str:
    """The line ``upgrade head`` stops with when r2 (``body``) fails after r1 made users;
    checks r2 alone was undone."""
    project(nb, url, table_revision("r1", "users"), revision("r2", *body))
    line = nb.run("%migrate upgrade head").error_line
    assert "at revision r2 ('r2')" in line and "1 revision(s) applied before it" in line, line
    assert "now at r1" in line and version(url) == {"r1"}, line
    assert tables(url) == {"alembic_version", "nbmigrate_log", "users"}, line
    return line


def test_a_queued_statement_that_fails_stops_its_own_revision_named_as_itself(nb, pg):
    project(nb, pg, table_revision("r1", "users"),
            revision("r2", 'op.create_table("audit", sa.Column("id", sa.Integer))',
                     'op.create_table("users", sa.Column("id", sa.Integer))',
                     message="audit"),
            table_revision("r3", "orders"))
    out = nb.run("%migrate upgrade head")
    line = out.error_line
    assert "at revision r2 ('audit')" in line
    assert "on CREATE TABLE users" in line and 'relation "users" already exists' in line
    assert "alembic_version" not in line  # where the error surfaced is not what failed
    assert "1 revision(s) applied before it" in line and "now at r1" in line
    assert version(pg) == {"r1"}
    assert "audit" not in tables(pg) and "orders" not in tables(pg)  # r2 undone, r3 not run
    assert logged(pg) == [("r1", "ok"), ("r2", "failed")]
    nb.ok("%migrate upgrade r1")  # the connection is usable again: nothing to do


def test_a_failure_found_while_the_guard_measures_names_the_statement_that_failed(nb, pg):
    project(nb, pg, revision("r1", 'op.create_table("users", sa.Column("id", sa.Integer), '
                                   'sa.Column("name", sa.String(20)))',
                             'op.execute("INSERT INTO users VALUES (1, \'ada\')")'),
            revision("r2", 'op.add_column("users", sa.Column("id", sa.Integer))',
                     'op.drop_column("users", "name")', message="reshape"))
    nb.ok("%migrate upgrade r1")
    line = nb.run("%migrate upgrade head").error_line
    assert "at revision r2 ('reshape')" in line
    assert "on ALTER TABLE users ADD COLUMN id" in line and "already exists" in line
    assert version(pg) == {"r1"}
    assert columns(pg, "users") == {"id", "name"}
    with sa.create_engine(pg).connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM users").scalars().all() == ["ada"]


def test_reads_and_row_counts_in_a_revision_see_what_it_sent_before(nb, pg):
    project(nb, pg, revision(
        "r1",
        'op.create_table("t", sa.Column("x", sa.Integer))',
        'op.execute("INSERT INTO t VALUES (1), (2), (3)")',
        'bind = op.get_bind()',
        'changed = bind.execute(sa.text("UPDATE t SET x = x + 10")).rowcount',
        'seen = bind.execute(sa.text("SELECT count(*) FROM t")).scalar()',
        'op.create_table(f"changed_{changed}_seen_{seen}", sa.Column("x", sa.Integer))'))
    nb.ok("%migrate upgrade head")
    assert "changed_3_seen_3" in tables(pg)


def test_statements_the_pipeline_cannot_carry_still_run(nb, pg):
    project(nb, pg, revision(
        "r1",
        'op.execute("CREATE TABLE a (x int); CREATE TABLE b (x int)")',
        'op.execute("DO $$ BEGIN CREATE TABLE c (x int); END $$;")',
        'op.create_table("d", sa.Column("x", sa.Integer))'))
    nb.ok("%migrate upgrade head")
    assert {"a", "b", "c", "d"} <= tables(pg)
    assert version(pg) == {"r1"}


def test_an_upgrade_on_psycopg_is_pipelined(nb, pg):
    """The fast path is on: a revision sees its connection in pipeline mode (were it
    turned off by mistake, every other test here would still pass)."""
    project(nb, pg, revision(
        "r1",
        'from psycopg.pq import PipelineStatus',
        'status = op.get_bind().connection.driver_connection.pgconn.pipeline_status',
        'op.create_table(f"pipeline_{PipelineStatus(status).name.lower()}", '
        'sa.Column("x", sa.Integer))'))
    nb.ok("%migrate upgrade head")
    assert "pipeline_on" in tables(pg)


def test_a_script_that_catches_a_failure_in_its_own_savepoint_goes_on(nb, pg):
    """Inside a script's begin_nested() each statement is answered at once, so the script's
    except clause meets its failure, as it would without the pipeline."""
    project(nb, pg, table_revision("r1", "users"), revision(
        "r2",
        'try:',
        '    with op.get_bind().begin_nested():',
        '        op.create_table("users", sa.Column("id", sa.Integer))',
        'except sa.exc.ProgrammingError:',
        '    pass',
        'op.create_table("after", sa.Column("id", sa.Integer))'))
    nb.ok("%migrate upgrade head")
    assert version(pg) == {"r2"}
    assert "after" in tables(pg)


def test_a_script_that_catches_a_failure_in_a_savepoint_of_its_own_sql_goes_on(nb, pg):
    """A script that sends SAVEPOINT itself and rolls back to it in its except clause (an
    index that may exist already): from its SAVEPOINT on nothing is queued, so the error
    meets its except clause, as it would without the pipeline."""
    project(nb, pg, table_revision("r1", "users"), revision(
        "r2",
        'op.execute("SAVEPOINT maybe")',
        'try:',
        '    op.create_table("users", sa.Column("id", sa.Integer))',
        'except sa.exc.ProgrammingError:',
        '    op.execute("ROLLBACK TO SAVEPOINT maybe")',
        'else:',
        '    op.execute("RELEASE SAVEPOINT maybe")',
        'op.create_table("after", sa.Column("id", sa.Integer))'),
        table_revision("r3", "later"))
    nb.ok("%migrate upgrade head")
    assert version(pg) == {"r3"}
    assert {"after", "later"} <= tables(pg)


def test_a_failing_bulk_insert_is_named_as_itself(nb, pg):
    """Rows sent many at a time (``op.bulk_insert``: the driver's executemany) are answered
    before the next statement, so a failing row names the INSERT, not what came after."""
    line = stops_at_r2(
        nb, pg, 't = op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))',
        'op.bulk_insert(t, [{"id": 1}, {"id": 1}])',
        'op.create_table("after", sa.Column("id", sa.Integer))')
    assert "on INSERT INTO t" in line and "duplicate key" in line, line


def test_rows_inserted_many_at_a_time_arrive(nb, pg):
    project(nb, pg, revision(
        "r1",
        't = op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))',
        'op.bulk_insert(t, [{"id": i} for i in range(1, 101)])',
        'op.create_table("after", sa.Column("id", sa.Integer))'))
    nb.ok("%migrate upgrade head")
    with sa.create_engine(pg).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*), sum(id) FROM t").one() == (100, 5050)
    assert "after" in tables(pg)


def test_a_statement_the_driver_refuses_before_sending_is_named_as_itself(nb, pg):
    """A value psycopg cannot send (here a set) fails in the driver, before anything
    is sent: the statement named is that one, not the DDL queued before it."""
    line = stops_at_r2(
        nb, pg, 'op.create_table("t", sa.Column("id", sa.Integer))',
        'op.execute(sa.text("COMMENT ON TABLE t IS :c").bindparams(c={1, 2}))')
    assert "on COMMENT ON TABLE t" in line and "cannot adapt type 'set'" in line, line


def test_a_script_that_swallows_an_error_where_an_earlier_one_surfaces_still_stops(
        nb, pg):
    """The CREATE of r2 fails on the server, and the error arrives at the script's next
    read, inside its own try. Swallowed there, it is raised again at the next statement:
    the run stops on the CREATE, as it would have without the pipeline."""
    line = stops_at_r2(
        nb, pg, 'op.create_table("users", sa.Column("id", sa.Integer))',
        'try:',
        '    op.get_bind().execute(sa.text("SELECT 1 FROM pg_class"))',
        'except Exception:',
        '    pass',
        'op.create_table("after", sa.Column("id", sa.Integer))')
    assert 'on CREATE TABLE users' in line and 'relation "users" already exists' in line, line


def test_a_script_that_reads_through_the_driver_itself_gets_its_rows(nb, pg):
    """psycopg's own cursor, past SQLAlchemy (``get_bind().connection``): its reads are
    answered, and see what the revision queued before them."""
    project(nb, pg, revision(
        "r1",
        'op.create_table("t", sa.Column("x", sa.Integer))',
        'raw = op.get_bind().connection.driver_connection',
        'with raw.cursor() as cursor:',
        '    cursor.execute("SELECT count(*) FROM pg_class WHERE relname = \'t\'")',
        '    (found,) = cursor.fetchone()',
        'op.create_table(f"found_{found}", sa.Column("x", sa.Integer))'))
    nb.ok("%migrate upgrade head")
    assert {"t", "found_1"} <= tables(pg)


def test_a_failing_statement_sent_through_the_driver_itself_names_no_other(nb, pg):
    """A statement the script sends on psycopg's own cursor is queued by psycopg too; its
    failure is not put on the statement queued after it, which the server skipped."""
    line = stops_at_r2(
        nb, pg, 'op.create_table("t", sa.Column("x", sa.Integer))',
        'raw = op.get_bind().connection.driver_connection',
        'with raw.cursor() as cursor:',
        '    cursor.execute("CREATE TABLE users (id integer)")',
        'op.create_table("after", sa.Column("x", sa.Integer))')
    assert line.startswith("upgrade of default stopped at revision r2 ('r2'): relation "
                           '"users" already exists'), line


def test_a_revision_that_streams_rows_through_a_server_side_cursor_runs(nb, pg):
    """A server-side cursor (stream_results, the ORM's yield_per, as optuna's migrations
    use) cannot go through a pipeline: the run goes on without one."""
    project(nb, pg, revision(
        "r1",
        'op.create_table("t", sa.Column("x", sa.Integer))',
        'op.execute("INSERT INTO t SELECT generate_series(1, 50)")',
        'rows = op.get_bind().execute(sa.text("SELECT x FROM t")'
        '.execution_options(stream_results=True, max_row_buffer=10))',
        'total = sum(x for (x,) in rows)',
        'op.create_table(f"total_{total}", sa.Column("x", sa.Integer))'),
        table_revision("r2", "after"))
    nb.ok("%migrate upgrade head")
    assert {"total_1275", "after"} <= tables(pg)
    assert version(pg) == {"r2"}


def test_percent_signs_reach_the_database_as_written(nb, pg):
    project(nb, pg, revision(
        "r1",
        'op.create_table("t", sa.Column("s", sa.String(10)))',
        'op.execute("INSERT INTO t VALUES (\'100%\')")',
        'op.get_bind().execute(sa.text("INSERT INTO t VALUES (:s)"), {"s": "50%"})',
        'op.execute(sa.text("COMMENT ON TABLE t IS \'a % b\'"))'))
    nb.ok("%migrate upgrade head")
    with sa.create_engine(pg).connect() as conn:
        assert sorted(conn.exec_driver_sql("SELECT s FROM t").scalars()) == ["100%", "50%"]
        assert conn.exec_driver_sql("SELECT obj_description('t'::regclass)").scalar() == "a % b"
