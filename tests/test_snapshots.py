"""Golden snapshots: what every command shows, in a notebook and in a terminal.

A SQLite project goes through every sub-command (errors included). For each
step the snapshot keeps what the user sees: the cell's text, repr, HTML and
table (text and HTML), its printed output and error line; the dashboard's
panes; the console command's stdout, stderr and exit code; and the signature
of every public ``Session`` method. A change in any of them fails here, with
the step that changed.

Run ``NBMIGRATE_UPDATE_SNAPSHOTS=1 pytest tests/test_snapshots.py`` to record
a change that is meant, then read the diff of ``tests/snapshots/`` before
committing it. Times, durations and the temporary folder vary from run to run
and are replaced by placeholders; revision ids are fixed with ``--rev-id``.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import re
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from helpers import MODEL_CELL, OTHER_BASE_CELL

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("NBMIGRATE_UPDATE_SNAPSHOTS") == "1"
# keywords Session methods gained when per-call options stopped being attributes
NEW_KEYWORDS = {
    "upgrade": {"on_progress", "previewed"}, "downgrade": {"on_progress", "previewed"},
    "stamp": {"on_progress"},
    "plan": set(), "diff": {"metadata"}, "check": {"metadata"}, "revision": {"metadata"},
    "status": {"metadata"},
}

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2})?")
_NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(e-\d+)?(?![\w])")
# the demo's revisions, made by Alembic
_RANDOM_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])")
_CHECKSUM = re.compile(r"\b[0-9a-f]{40,64}(?:\.\.\.|\b)")  # a revision file's hash
_PADDED = re.compile(r" *(<n>) *")  # a duration's width moves the columns beside it
# several heads come out of Alembic's sets in an order that changes with the hash seed
_HEADS = re.compile(r"\b[a-z]\d(?:, [a-z]\d)+\b")


def normalise(text: str, where: Path) -> str:
    """``text`` without what differs between two runs: the folder, times, durations."""
    for folder in {str(where.resolve()), str(where)}:
        text = text.replace(folder, "<tmp>")
    text = _CHECKSUM.sub("<sha256>", text)
    text = _RANDOM_ID.sub("<rev>", _DATETIME.sub("<datetime>", text))
    text = _HEADS.sub(lambda m: ", ".join(sorted(m.group().split(", "))), text)
    return _PADDED.sub(r" \1 ", _NUMBER.sub("<n>", text))


def views(value: Any) -> dict[str, str]:
    """Each way a value shows: text, repr, HTML, and its table as text and HTML."""
    if value is None:
        return {}
    shown = {"str": str(value), "repr": repr(value)}
    if hasattr(value, "_repr_html_"):
        shown["html"] = value._repr_html_() or ""
    frame = value if hasattr(value, "to_string") else (
        value.to_frame() if hasattr(value, "to_frame") else None)
    if frame is not None:
        import pandas as pd

        steady = frame.astype(object).copy()  # durations and times vary from run to run
        for column in frame.columns:
            kind = frame[column].dtype.kind
            if kind in "fmM":
                steady[column] = ["<n>" if kind == "f" else "<datetime>"
                                  for _ in range(len(frame))]
        with pd.option_context("display.max_columns", None, "display.width", 10_000):
            shown["frame"] = steady.to_string()
        shown["frame_html"] = frame._repr_html_() or ""
        shown["frame_title"] = str(getattr(frame, "title", ""))
        shown["frame_note"] = str(getattr(frame, "note", ""))
    return shown


def check(name: str, recorded: dict[str, Any]) -> None:
    """Compare with ``snapshots/NAME.json`` (or write it when updating)."""
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(recorded, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    if UPDATE or not path.is_file():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path.name} was missing and has been written: check it in")
        return
    golden = json.loads(path.read_text(encoding="utf-8"))
    for step, seen in recorded.items():
        assert step in golden, f"step {step!r} is new: record it with NBMIGRATE_UPDATE_SNAPSHOTS=1"
        for view in sorted(set(golden[step]) | set(seen)):
            want, got = golden[step].get(view), seen.get(view)
            if want != got:
                diff = "\n".join(difflib.unified_diff(
                    str(want).splitlines(), str(got).splitlines(), "golden", "now", lineterm=""))
                pytest.fail(f"{name}: step {step!r}, view {view!r} changed:\n{diff}")
    assert list(golden) == list(recorded), "steps were removed or reordered"


@pytest.fixture
def here(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A work folder whose path is always as long (column widths depend on it)."""
    folder = Path("/tmp") / f"nbm-snapshot-{secrets.token_hex(4)}"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("LOGNAME", "analyst")  # the audit log's os_user
    yield folder
    os.chdir(workdir)  # the kernel's teardown reads the current folder
    shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------ notebook

DROP_USERS = '''%%migrate revision -m "drop users" --rev-id d1
def upgrade():
    op.drop_table("users")

def downgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("full_name", sa.String(50)))
'''

SEED = '''%%migrate revision -m "seed users" --rev-id a3
def upgrade():
    op.execute("INSERT INTO users (name) VALUES ('ada')")

def downgrade():
    op.execute("DELETE FROM users WHERE name = 'ada'")
'''

RENAMED_MODEL = MODEL_CELL.replace("name: Mapped[str]", "full_name: Mapped[str]")

NOTEBOOK = [
    ("connections, none yet", "%migrate connections"),
    ("history before init", "%migrate history"),
    ("model", MODEL_CELL),
    ("init", "%migrate init migrations --url sqlite:///app.db"),
    ("init again", "%migrate init migrations"),
    ("connections", "%migrate connections"),
    ("diff", "%migrate diff"),
    ("check drift", "%migrate check"),
    ("revision autogenerate", '%migrate revision --autogenerate -m "create users" --rev-id a1'),
    ("revision autogenerate, nothing new",
     '%migrate revision --autogenerate -m "again" --rev-id zz'),
    ("revision empty", '%migrate revision -m "empty" --rev-id a2'),
    ("revision cell", SEED),
    ("revision id reused", '%migrate revision -m "dup" --rev-id a2'),
    ("upgrade --sql", "%migrate upgrade head --sql"),
    ("upgrade --dry-run", "%migrate upgrade head --dry-run"),
    ("upgrade +1", "%migrate upgrade +1"),
    ("current at a1", "%migrate current"),
    ("autogenerate not at head", '%migrate revision --autogenerate -m "x" --rev-id x1'),
    ("upgrade head", "%migrate upgrade head"),
    ("upgrade head again", "%migrate upgrade head"),
    ("upgrade to a missing revision", "%migrate upgrade nope"),
    ("upgrade a range without --sql", "%migrate upgrade a1:a2"),
    ("history", "h = %migrate history\nh"),
    ("history range verbose", "%migrate history -r a1:a2 --verbose"),
    ("current", "%migrate current"),
    ("heads", "%migrate heads"),
    ("branches, none", "%migrate branches"),
    ("show", "%migrate show a1"),
    ("show current", "%migrate show current"),
    ("tags, none", "%migrate tags"),
    ("tag", "%migrate tag v1 a2"),
    ("tag again", "%migrate tag v1"),
    ("tag current", "%migrate tag top"),
    ("tags", "%migrate tags"),
    ("graph", "%migrate graph"),
    ("status", "%migrate status"),
    ("log", "%migrate log"),
    ("lint pending", "%migrate lint"),
    ("lint range", "%migrate lint a1:a3"),
    ("lint bad range", "%migrate lint a1"),
    ("branch off a1", '%migrate revision -m "side" --rev-id b1 --head a1 --splice'),
    ("two heads", "%migrate heads"),
    ("branches", "%migrate branches"),
    ("graph with a branch", "%migrate graph"),
    ("upgrade head with two heads", "%migrate upgrade head"),
    ("upgrade heads", "%migrate upgrade heads"),
    ("merge", '%migrate merge -m "join" --rev-id m1'),
    ("merge nothing", '%migrate merge -m "again"'),
    ("upgrade merge", "%migrate upgrade head"),
    ("renamed model", RENAMED_MODEL),
    ("diff with a rename", "%migrate diff"),
    ("revision with a bad --rename", '%migrate revision --autogenerate -m "rename" '
     '--rev-id r0 --rename users.nom=full_name'),
    ("revision with --rename", '%migrate revision --autogenerate -m "rename" --rev-id r1 '
     '--rename users.name=full_name'),
    ("upgrade the rename", "%migrate upgrade head"),
    ("drop users revision", DROP_USERS),
    ("drop users refused", "%migrate upgrade head"),
    ("drop users plan", "%migrate upgrade head --dry-run"),
    ("drop users --yes", "%migrate upgrade head --yes"),
    ("downgrade --sql", "%migrate downgrade m1 --sql"),
    ("downgrade plan", "%migrate downgrade a2 --dry-run"),
    ("downgrade refused", "%migrate downgrade a2"),
    ("downgrade to a tag", "%migrate downgrade v1 --yes"),
    ("downgrade without target", "%migrate downgrade"),
    ("stamp --sql", "%migrate stamp a1 --sql"),
    ("stamp --purge", "%migrate stamp a1 --purge"),
    ("stamp back", "%migrate stamp a2"),
    ("log after all", "%migrate log -n 5"),
    ("untag", "%migrate tag --delete v1"),
    ("untag missing", "%migrate tag --delete v1"),
    ("two models", OTHER_BASE_CELL),
    ("diff with two models", "%migrate diff"),
    ("diff --metadata", "%migrate diff --metadata Base2"),
    ("connect second", "%migrate connect --name second sqlite:///second.db"),
    ("connect a bad url", "%migrate connect nota://url"),
    ("connections with two", "%migrate connections"),
    ("status with two", "%migrate status"),
    ("history of second", "%migrate history --db second"),
    ("unknown connection", "%migrate current --db third"),
    ("unknown subcommand", "%migrate frobnicate"),
    ("help", "%migrate upgrade --help"),
    ("attach", "%migrate attach team/alembic.ini"),
    ("attached history", "%migrate history"),
    ("attached current", "%migrate current"),
]


def _team_project(where: Path) -> None:
    """A plain ``alembic init`` project with one revision, as a team would have."""
    from alembic import command

    (where / "team").mkdir()
    config = Config(str(where / "team" / "alembic.ini"))
    command.init(config, str(where / "team" / "alembic"))
    ini = where / "team" / "alembic.ini"
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname",
                                           "sqlite:///team.db"))
    command.revision(Config(str(ini)), "team start", rev_id="t1")


def _cell(nb: Any, code: str, where: Path) -> dict[str, str]:
    out = nb.run(code)
    shown = {"stdout": out.stdout, "error": out.error_line,
             "error_type": type(out.error).__name__ if out.error else ""}
    shown.update(views(out.result))
    return {k: normalise(v, where) for k, v in shown.items()}


def test_every_command_in_a_notebook(nb, here):
    workdir = here
    _team_project(workdir)
    recorded = {name: _cell(nb, code, workdir) for name, code in NOTEBOOK}

    nb.ok("%migrate attach alembic.ini")
    nb.ok("%migrate upgrade a2 --yes")
    nb.ok("import sqlalchemy as sa\n"
          "with sa.create_engine('sqlite:///app.db').begin() as c:\n"
          "    c.exec_driver_sql(\"INSERT INTO users (name) VALUES ('bo')\")")
    nb.ok('%config NbMigrate.metadata = "Base"')
    ui = nb.ok("ui = %migrate ui\nui")
    panes = {"header": ui.header.value, "history": ui.history.value, "graph": ui.graph.value,
             "status": ui.status.value}
    ui.upgrade.target.value = "head"
    ui.upgrade.preview.click()
    panes.update(plan=ui.upgrade.plan.value, after_preview=ui.status.value)
    ui.upgrade.apply.click()
    panes.update(refused=ui.status.value, plan_after_refusal=ui.upgrade.plan.value)
    ui.upgrade.confirm.click()
    panes.update(applied=ui.status.value, result=ui.upgrade.plan.value,
                 step=ui.upgrade.step.value)
    ui.authoring.autogenerate.click()
    panes.update(autogenerate=ui.status.value, operations=ui.authoring.operations.value,
                 python=ui.authoring.python.value, sql=ui.authoring.sql.value)
    recorded["dashboard"] = {k: normalise(v, workdir) for k, v in panes.items()}
    check("notebook", recorded)


# ------------------------------------------------------------------ terminal

MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
items = Table("items", metadata,
              Column("id", Integer, primary_key=True),
              Column("name", String(40)))
"""

TERMINAL = [
    ("no project", ["current"]),
    ("init", ["init", "migrations", "--url", "sqlite:///cli.db"]),
    ("connections", ["connections"]),
    ("diff", ["diff", "--metadata", "models:metadata"]),
    ("check drift", ["check", "--metadata", "models:metadata"]),
    ("diff without a model", ["diff"]),
    ("revision", ["revision", "--autogenerate", "-m", "create items", "--rev-id", "c1",
                  "--metadata", "models:metadata"]),
    ("revision two", ["revision", "-m", "second", "--rev-id", "c2"]),
    ("upgrade --sql", ["upgrade", "head", "--sql"]),
    ("upgrade --dry-run", ["upgrade", "head", "--dry-run"]),
    ("upgrade", ["upgrade", "head"]),
    ("check", ["check", "--metadata", "models:metadata"]),
    ("history", ["history"]),
    ("current", ["current"]),
    ("heads", ["heads"]),
    ("branches", ["branches"]),
    ("show", ["show", "c1"]),
    ("tag", ["tag", "v1", "c1"]),
    ("tag again", ["tag", "v1"]),
    ("tags", ["tags"]),
    ("graph", ["graph"]),
    ("status", ["status"]),
    ("log", ["log"]),
    ("lint", ["lint", "c1:c2"]),
    ("stamp --sql", ["stamp", "c1", "--sql"]),
    ("a row", "INSERT INTO items (name) VALUES ('pen')"),
    ("downgrade refused", ["downgrade", "base"]),
    ("downgrade --dry-run", ["downgrade", "base", "--dry-run"]),
    ("downgrade --yes", ["downgrade", "base", "--yes"]),
    ("stamp", ["stamp", "c1"]),
    ("bad target", ["upgrade", "nope"]),
    ("usage mistake", ["upgrade", "--frob"]),
    ("help", ["lint", "--help"]),
    ("merge nothing", ["merge", "-m", "m"]),
    ("untag", ["tag", "--delete", "v1"]),
    ("tags, none", ["tags"]),
    ("url option", ["--url", "sqlite:///other.db", "current"]),
    ("demo", ["demo", "demo"]),
]


def test_every_command_in_a_terminal(here, monkeypatch, capsys):
    from nbmigrate.cli import main

    workdir = here
    monkeypatch.syspath_prepend(str(workdir))
    monkeypatch.delitem(sys.modules, "models", raising=False)  # another test's models.py
    (workdir / "models.py").write_text(MODELS)
    (workdir / "ok").mkdir()
    recorded = {}
    for name, argv in TERMINAL:
        if isinstance(argv, str):  # SQL run on the database, as another program would
            with sa.create_engine(f"sqlite:///{workdir / 'cli.db'}").begin() as conn:
                conn.exec_driver_sql(argv)
            continue
        code = main(argv)
        out, err = capsys.readouterr()
        recorded[name] = {"exit": str(code), "stdout": normalise(out, workdir),
                          "stderr": normalise(err, workdir)}
    sys.modules.pop("models", None)  # this test's models.py is gone with its folder
    check("terminal", recorded)


# ---------------------------------------------------------------- signatures


def test_session_signatures_only_gain_keywords():
    from nbmigrate.engine import Session

    recorded = {}
    for name, method in sorted(inspect.getmembers(Session, inspect.isfunction)):
        if name.startswith("_"):
            continue
        signature = inspect.signature(method)
        kept = [p for p in signature.parameters.values()
                if p.name not in NEW_KEYWORDS.get(name, ())]
        recorded[name] = {"signature": str(signature.replace(parameters=kept)),
                          "doc": inspect.getdoc(method) or ""}
    for name in ("project",):
        recorded[name] = {"signature": "property", "doc": inspect.getdoc(getattr(Session, name))}
    recorded["__init__"] = {"signature": str(inspect.signature(Session.__init__)), "doc": ""}
    check("session", recorded)
