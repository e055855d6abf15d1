"""``nbmigrate demo``: a new user's first run, on SQLite, printed step by step."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .engine.results import Note

MODEL_V1 = '''
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
users = Table("users", metadata,
              Column("id", Integer, primary_key=True),
              Column("name", String(50), nullable=False))
'''

MODEL_V2 = MODEL_V1 + '''
users.append_column(Column("email", String(120)))
'''


def run_demo(directory: str | None = None, out=print) -> Note:
    """Walk through init, autogenerate, upgrade, history, downgrade in ``directory``."""
    from .engine.session import Session

    where = Path(directory or tempfile.mkdtemp(prefix="nbmigrate-demo-")).resolve()
    if (where / "alembic.ini").exists():
        from .engine.errors import NbMigrateError

        raise NbMigrateError(f"{where / 'alembic.ini'} already exists: the demo starts a new "
                             "project, in a new directory")
    where.mkdir(parents=True, exist_ok=True)
    namespace: dict = {}
    session = Session(namespace=namespace, workdir=where)

    def step(title: str, line: str, result: object) -> None:
        out(f"\n== {title}\n   %migrate {line}\n")
        out(result)

    url = f"sqlite:///{where / 'demo.db'}"
    exec(MODEL_V1, namespace)
    step("1. create the migration environment (alembic init)", f"init migrations --url {url}",
         session.init("migrations", url=url))
    step("2. autogenerate the first revision from the model", "revision --autogenerate "
         "-m 'create users'", session.revision("create users", autogenerate=True))
    step("3. apply it (alembic upgrade head)", "upgrade head", session.upgrade("head"))
    exec(MODEL_V2, namespace)
    step("4. the model gains a column: what differs?", "diff", session.diff())
    step("5. autogenerate and apply the change", "revision --autogenerate -m 'add email'",
         session.revision("add email", autogenerate=True))
    step("   preview the SQL first, nothing runs", "upgrade head --sql",
         session.upgrade("head", sql=True))
    step("   then apply it", "upgrade head", session.upgrade("head"))
    step("6. history (alembic history)", "history", session.history())
    step("7. roll back one revision (alembic downgrade -1)", "downgrade -1",
         session.downgrade("-1"))
    step("8. where the database is now (alembic current)", "current", session.current())
    return Note(f"demo finished: the project is in {where}",
                {"try": f"cd {where} && alembic history   (the plain alembic command works too)"})
