"""Alembic's version-row statements go out with the revision ids as bound values (one
compiled statement for a whole run), and the version table ends exactly where plain
Alembic's would: a new root (INSERT), a step (UPDATE), a merge (DELETE and UPDATE)."""

from __future__ import annotations

import sqlalchemy as sa
from helpers import alembic, table_revision, version


def test_version_rows_are_written_with_bound_ids_and_read_back_by_alembic(nb, workdir):
    url = f"sqlite:///{workdir / 'app.db'}"
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(table_revision("a1", "ta"))
    nb.ok(table_revision("a2", "tb"))
    nb.ok(table_revision("f1", "tf", options="--head base --branch-label feature"))
    nb.ok('%migrate merge -m "join" --rev-id m1')
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "alembic_version" in statement and not statement.lstrip().upper().startswith(
                ("SELECT", "CREATE", "PRAGMA")):
            sent.append((statement, parameters))

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        nb.ok("%migrate upgrade a1")  # INSERT
        nb.ok("%migrate upgrade heads")  # UPDATE, INSERT (the second root), DELETE + UPDATE
        nb.ok("%migrate downgrade a2")  # the merge undone: two rows again
        nb.ok("%migrate downgrade feature@base")  # DELETE of the feature's row
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    kinds = {statement.split()[0].upper() for statement, _ in sent}
    assert kinds == {"INSERT", "UPDATE", "DELETE"}
    for statement, parameters in sent:
        assert "'" not in statement, statement  # no id written into the SQL text
        assert parameters, statement
    assert version(url) == {"a2"}
    assert alembic("current", cwd=workdir, url=url).split()[0] == "a2"
    nb.ok("%migrate upgrade heads")
    assert version(url) == {"m1"}
