"""Look before you leap: plans with data impact, the destructive guard, renames, lint,
and what a failure half-way reports, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re

import sqlalchemy as sa
from helpers import columns, nbmigrate, server_url, version

USERS = '''%%migrate revision -m "users" --rev-id r1
def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("email", sa.String(50)), sa.Column("name", sa.String(50)))

def downgrade():
    op.drop_table("users")
'''

DROP_EMAIL = '''%%migrate revision -m "drop email" --rev-id r2
def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("email")

def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(50)))
'''

TIGHTEN = '''%%migrate revision -m "tighten" --rev-id r2
def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("email", type_=sa.String(5), existing_type=sa.String(50))
        batch_op.alter_column("name", nullable=False, existing_type=sa.String(50))
        batch_op.create_unique_constraint("uq_users_name", ["name"])

def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("uq_users_name", type_="unique")
        batch_op.alter_column("name", nullable=True, existing_type=sa.String(50))
        batch_op.alter_column("email", type_=sa.String(50), existing_type=sa.String(5))
'''

ROWS = [("ann@x.org", "Ann"), ("bo@x", "Bo"), (None, "Bo"), ("cy@example.com", None),
        (None, None)]


def fill(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (email, name) VALUES (:e, :n)"),
                     [{"e": e, "n": n} for e, n in ROWS])
    engine.dispose()


def count(url: str, sql: str = "SELECT count(*) FROM users") -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.exec_driver_sql(sql).scalar()
    engine.dispose()
    return n


def test_dropping_a_populated_column_shows_counts_refuses_and_applies_with_yes(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    fill(db_url)
    nb.ok(DROP_EMAIL)

    plan = nb.ok("%migrate upgrade head --dry-run")
    [lost] = plan.destructive
    assert (lost.kind, lost.table, lost.name, lost.count) == ("drop_column", "users", "email", 3)
    assert "3 non-null value(s)" in plan._repr_html_()
    # SQLite's batch mode copies the table without the column; the plan shows that SQL
    assert ("DROP TABLE users" if db_url.startswith("sqlite") else "DROP COLUMN email") in plan.sql
    assert plan.to_frame()["destructive"].tolist().count(True) == 1
    assert version(db_url) == {"r1"} and "email" in columns(db_url, "users")

    refused = nb.run("%migrate upgrade head")
    line = refused.error_line
    assert refused.error is not None and "\n" not in line and "Traceback" not in refused.shown
    assert "drop_column users.email (3 non-null value(s) dropped)" in line
    assert "--yes" in line and "confirm_destructive" in line
    assert version(db_url) == {"r1"} and "email" in columns(db_url, "users")
    assert count(db_url, "SELECT count(email) FROM users") == 3

    done = nb.ok("%migrate upgrade head --yes")
    assert [s.revision for s in done.steps] == ["r2"]
    assert version(db_url) == {"r2"} and "email" not in columns(db_url, "users")
    assert count(db_url) == 5

    nb.ok("%migrate downgrade -1")  # adding the column back loses nothing: no question asked
    assert version(db_url) == {"r1"}
    refused = nb.run("%migrate downgrade base")  # would drop the table and its 5 rows
    assert "drop_table users (5 row(s) dropped)" in refused.error_line
    assert version(db_url) == {"r1"} and count(db_url) == 5
    nb.ok("%config NbMigrate.confirm_destructive = False")
    nb.ok("%migrate downgrade base")
    assert version(db_url) == set()


def test_counts_for_narrowed_types_not_null_and_unique_are_exact(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    fill(db_url)
    nb.ok(TIGHTEN)
    plan = nb.ok("%migrate upgrade r2 --dry-run")
    by_name = {(o.kind, o.name): o for o in plan.operations}
    [step] = plan.steps
    refused = nb.run("%migrate upgrade head")
    if db_url.startswith("sqlite"):
        # batch mode copies the table; the copy fails on the 2 NULL names, and SQLite keeps
        # text longer than a declared length: the rehearsal says where, nothing is lost
        assert "statement 2 would fail:" in step.reason  # the copy, after the new table
        assert "constraint failed" in step.reason and plan.destructive == []
        assert "stopped at revision r2" in refused.error_line
        assert "constraint failed" in refused.error_line
    else:
        email = by_name["alter_type", "email"]
        assert email.count == 2 and email.destructive  # "ann@x.org", "cy@example.com"
        assert "2 value(s) changed by the new type VARCHAR(5)" in email.impact
        assert "alter_type users.email (2 value(s) changed" in refused.error_line
        if db_url.startswith("postgresql"):  # the rehearsal ran it: PostgreSQL refuses to cut
            assert "statement 1 would fail: value too long" in step.reason
        else:  # MySQL reads every statement without running one
            name = next(o for o in plan.operations if o.name == "name")
            assert name.count == 2 and "2 NULL(s) fail NOT NULL" in name.impact
            unique = by_name["add_constraint", "uq_users_name"]
            assert unique.count == 1 and "1 duplicated value" in unique.impact  # "Bo" twice
            assert not unique.destructive  # it would fail, not lose data
    assert version(db_url) == {"r1"} and count(db_url) == 5
    assert count(db_url, "SELECT count(*) FROM users WHERE email = 'cy@example.com'") == 1

    down = nb.ok("%migrate downgrade base --dry-run")
    assert [(o.kind, o.count) for o in down.destructive] == [("drop_table", 5)]


def test_a_plan_counts_nothing_for_tables_the_plan_itself_creates(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok(DROP_EMAIL)
    plan = nb.ok("%migrate upgrade head --dry-run")
    kinds = [o.kind for o in plan.operations]
    assert kinds[0] == "create_table" and ("drop_column" in kinds or "copy" in kinds)
    assert plan.destructive == [] and version(db_url) == set()
    nb.ok("%migrate upgrade head")  # nothing to lose, so no --yes needed
    assert version(db_url) == {"r2"}


RENAME_MODEL = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy import String

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "{table}"
    id: Mapped[int] = mapped_column(primary_key=True)
    {column}: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str | None] = mapped_column(String(50))
"""


def test_rename_hints_and_rename_keep_the_rows(nb, db_url):
    nb.ok(RENAME_MODEL.format(table="users", column="email"))
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    fill(db_url)

    nb.ok(RENAME_MODEL.format(table="users", column="email_address"))
    diff = nb.ok("%migrate diff")
    assert "possible rename: users.email -> users.email_address" in diff.note()
    assert "--rename users.email=email_address" in str(diff)
    made = nb.ok("%migrate revision --autogenerate -m rename --rename users.email=email_address")
    assert [(o.op, o.name) for o in made.operations] == [("rename_column", "email")]
    assert "new_column_name='email_address'" in made.source
    nb.ok("%migrate upgrade head")  # a rename loses nothing: no --yes
    assert count(db_url, "SELECT count(email_address) FROM users") == 3
    assert nb.ok("%migrate diff").empty

    nb.ok(RENAME_MODEL.format(table="people", column="email_address"))
    assert "possible rename: table users -> people" in nb.ok("%migrate diff").note()
    nb.ok("%migrate revision --autogenerate -m people --rename users=people")
    nb.ok("%migrate upgrade head")
    assert count(db_url, "SELECT count(*) FROM people") == 5
    nb.ok("%migrate downgrade -2")  # both renames undone, still without losing a row
    assert count(db_url, "SELECT count(email) FROM users") == 3


TWO_FOR_ONE = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy import String, Integer

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
{columns}
"""


def test_each_column_is_proposed_as_the_rename_of_one_other(nb, workdir):
    nb.ok(TWO_FOR_ONE.format(columns="    email: Mapped[str] = mapped_column(String(50))\n"
                                     "    phone: Mapped[str] = mapped_column(String(50))\n"
                                     "    age: Mapped[int] = mapped_column(Integer)"))
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    # two strings become two others, the integer changes name: each gets its closest match
    nb.ok(TWO_FOR_ONE.format(columns="    phone_number: Mapped[str] = mapped_column(String(50))\n"
                                     "    email_address: Mapped[str] = mapped_column(String(50))\n"
                                     "    age_years: Mapped[int] = mapped_column(Integer)"))
    hints = re.findall(r"possible rename: (\S+) -> (\S+?);", nb.ok("%migrate diff").note())
    assert sorted(hints) == [("users.age", "users.age_years"),
                             ("users.email", "users.email_address"),
                             ("users.phone", "users.phone_number")]


def test_a_rename_that_does_not_match_writes_nothing(nb, workdir):
    nb.ok(RENAME_MODEL.format(table="users", column="email"))
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    before = sorted((workdir / "migrations" / "versions").glob("*.py"))
    for spec, expected in [("users.mail=email", "does not drop column users.mail"),
                           ("users.email", "use table.old_column=new_column"),
                           ("a.b.c=d", "use table.old_column=new_column")]:
        out = nb.run(f"%migrate revision --autogenerate -m x --rename {spec}")
        assert expected in out.error_line and "\n" not in out.error_line, spec
    assert sorted((workdir / "migrations" / "versions").glob("*.py")) == before


LINTED = '''%%migrate revision -m "risky" --rev-id r2
def upgrade():
    op.create_index("ix_users_name", "users", ["name"])
    op.add_column("users", sa.Column("age", sa.Integer, nullable=False))
    op.alter_column("users", "email", type_=sa.String(200), existing_type=sa.String(50))

def downgrade():
    op.drop_column("users", "age")
    op.drop_index("ix_users_name", "users")
'''


def test_lint_warns_per_dialect_with_a_safer_pattern(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    nb.ok(LINTED)
    report = nb.ok("%migrate lint")
    warnings = dict(zip(report["operation"], report["warning"], strict=True))
    assert "add it nullable, backfill it" in warnings["add_column"]
    assert set(report["revision"]) == {"r2"}
    if db_url.startswith("postgresql"):
        assert "postgresql_concurrently=True" in warnings["create_index"]
        assert "alter_type" not in warnings  # widening a VARCHAR rewrites nothing
    if db_url.startswith("mysql"):
        assert "commits each" in warnings["(revision)"]
        assert "copies the table" in warnings["alter_type"]
    # a whole range, created tables included: nothing to warn about in a new table
    assert "r1" not in set(nb.ok("%migrate lint base:r1")["revision"])
    assert version(db_url) == {"r1"}


def test_the_command_line_has_the_same_guard(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    fill("sqlite:///app.db")
    nb.ok(DROP_EMAIL)
    run = nbmigrate("upgrade", "head", cwd=workdir)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "3 non-null value(s)" in run.stderr
    assert "nbmigrate upgrade head --dry-run" in run.stderr and "%config" not in run.stderr
    assert version("sqlite:///app.db") == {"r1"}
    run = nbmigrate("upgrade", "head", "--yes", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert version("sqlite:///app.db") == {"r2"}


HALF_WAY = '''%%migrate revision -m "two steps" --rev-id r2
def upgrade():
    op.add_column("users", sa.Column("age", sa.Integer))
    op.create_index("ix_users_email", "users", ["email"])
    op.execute("UPDATE no_such_table SET x = 1")

def downgrade():
    op.drop_index("ix_users_email", "users")
    op.drop_column("users", "age")
'''


def test_a_failure_half_way_names_the_statement_and_what_was_kept(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    fill(db_url)
    nb.ok(HALF_WAY)
    out = nb.run("%migrate upgrade head")
    line = out.error_line
    assert "\n" not in line and "Traceback" not in out.shown
    assert "stopped at revision r2 ('two steps') on UPDATE no_such_table SET x = 1" in line
    assert "is now at r1" in line and version(db_url) == {"r1"}
    assert count(db_url) == 5
    if db_url.startswith("mysql"):  # DDL committed as it went: say what stayed
        assert "kept from the failed revision" in line
        assert "ADD COLUMN age" in line and "CREATE INDEX ix_users_email" in line
        assert "age" in columns(db_url, "users")
    else:  # rolled back whole
        assert "kept from" not in line
        assert "age" not in columns(db_url, "users")


BACKFILL = '''%%migrate revision -m "name required" --rev-id r2
def upgrade():
    op.execute("UPDATE users SET name = 'unknown' WHERE name IS NULL")
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("name", nullable=False, existing_type=sa.String(50))

def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("name", nullable=True, existing_type=sa.String(50))
'''


def test_a_backfill_before_not_null_is_counted_but_not_refused(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    fill(db_url)
    nb.ok(BACKFILL)
    plan = nb.ok("%migrate upgrade head --dry-run")
    assert plan.destructive == [] and not any(s.reason for s in plan.steps)
    if db_url.startswith("postgresql"):  # rehearsed: the backfill ran first, so no NULL is left
        [required] = [o for o in plan.operations if o.kind == "set_not_null"]
        assert required.count == 0
    if db_url.startswith("mysql"):  # read without running the UPDATE: counted, and said so
        [required] = [o for o in plan.operations if o.kind == "alter_type"]
        assert required.count == 2 and "2 NULL(s) fail NOT NULL" in required.impact
        assert "counted before the write of statement 1" in required.impact
    nb.ok("%migrate upgrade head")
    assert version(db_url) == {"r2"}
    assert count(db_url, "SELECT count(*) FROM users WHERE name = 'unknown'") == 2


CONCURRENTLY = '''%%migrate revision -m "index concurrently" --rev-id r2
def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)

def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index("ix_users_name", "users", postgresql_concurrently=True)
'''


def test_the_safer_pattern_lint_suggests_runs_on_postgresql(nb):
    url = server_url("postgresql")
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    nb.ok(CONCURRENTLY)
    report = nb.ok("%migrate lint")  # CONCURRENTLY is the advice, so no warning: a note
    assert list(report.operation) == ["(revision)"]  # that the revision runs on its own
    assert report.warning[0].startswith("note: this revision runs outside")
    nb.ok("%migrate upgrade head")  # autocommit_block needs a revision outside a transaction
    engine = sa.create_engine(url)
    assert "ix_users_name" in {i["name"] for i in sa.inspect(engine).get_indexes("users")}
    engine.dispose()
    nb.ok("%migrate downgrade -1")
    assert version(url) == {"r1"}


NEW_TABLES = '''%%migrate revision -m "two new tables" --rev-id n1
def upgrade():
    op.create_table("parent", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("code", sa.String(10)))
    op.create_table("child", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("parent_id", sa.Integer))

def downgrade():
    op.drop_table("child")
    op.drop_table("parent")
'''

CONSTRAIN_NEW = '''%%migrate revision -m "constrain them" --rev-id n2
def upgrade():
    with op.batch_alter_table("child") as batch_op:
        batch_op.create_foreign_key("fk_child_parent", "parent", ["parent_id"], ["id"])
    with op.batch_alter_table("parent") as batch_op:
        batch_op.create_unique_constraint("uq_parent_code", ["code"])
    op.alter_column("users", "name", type_=sa.String(50), existing_type=sa.String(50))
    op.create_index("ix_users_email", "users", ["email"])

def downgrade():
    op.drop_index("ix_users_email", table_name="users")
'''


def test_lint_judges_only_what_touches_tables_in_use(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(USERS)
    nb.ok("%migrate upgrade head")
    nb.ok(NEW_TABLES)
    nb.ok(CONSTRAIN_NEW)
    report = nb.ok("%migrate lint")  # n1 and n2, pending
    flagged = set(zip(report["operation"], report["table"], strict=True))
    # the tables n1 creates are new in this range: their keys and constraints are exempt,
    # and a revision that only creates tables is not "several DDL statements"
    assert not {t for _, t in flagged} & {"parent", "child"}
    assert "n1" not in set(report["revision"])
    # a type "change" to the same type rewrites nothing
    assert ("alter_type", "users") not in flagged
    assert all(report["table"]), report  # every warning names its table
    if db_url.startswith("postgresql"):
        assert ("create_index", "users") in flagged
        down = nb.ok("%migrate lint n2:n2")
        assert set(down["table"]) <= {"users", "parent", "child"} and all(down["table"])
