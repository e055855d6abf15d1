"""The README's examples are true: its notebook session runs, its commands exist."""

from __future__ import annotations

import re

import sqlalchemy as sa
from helpers import ROOT, columns, tables, version

from nbmigrate.grammar import build_parser, subparsers

README = ROOT / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_readme_notebook_session_runs_cell_by_cell(nb, workdir):
    cells = re.findall(r"```python\n(.*?)```", section("A notebook session"), re.S)
    assert len(cells) >= 8
    results = [nb.run(cell) for cell in cells]
    failed = [(c, r.error) for c, r in zip(cells, results, strict=True) if r.error is not None]
    assert not failed
    url = f"sqlite:///{workdir / 'app.db'}"
    history = nb.ns["h"]
    first = history["revision"].iloc[-1]
    # after "downgrade -1" of the only revision the database is at base again
    assert version(url) == set()
    assert "users" not in tables(url)
    assert len(list((workdir / "migrations" / "versions").glob("*.py"))) == 2
    assert first in results[3].stdout or first in str(results[3].result)


def test_readme_look_before_you_leap_runs_as_it_says(nb, workdir):
    cells = re.findall(r"```python\n(.*?)```", section("Look before you leap"), re.S)
    results = [nb.run(cell) for cell in cells]
    refused = [r for r in results if r.error is not None]
    assert len(refused) == 1, [r.error for r in results]
    assert "drop_column customers.phone (2 non-null value(s) dropped)" in refused[0].error_line
    diff, plan = results[3].result, results[4].result
    assert "possible rename: customers.email -> customers.email_address" in diff.note()
    assert "phone ->" not in diff.note()  # each column is the rename of at most one
    assert [(o.kind, o.count) for o in plan.destructive] == [("drop_column", 2)]
    url = f"sqlite:///{workdir / 'shop.db'}"
    assert columns(url, "customers") == {"id", "email_address"}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT email_address FROM customers").scalars().all() == [
            "a@x.org", None]
    engine.dispose()


def test_readme_guard_cells_rehearse_a_backfill_and_refuse_raw_sql(nb, workdir):
    before = re.findall(r"```python\n(.*?)```", section("Look before you leap"), re.S)
    for cell in before:
        nb.run(cell)
    cells = re.findall(r"```python\n(.*?)```", section("Whatever sends the statement"), re.S)
    assert len(cells) == 4
    results = [nb.run(cell) for cell in cells]
    assert [r.error is None for r in results] == [True, True, True, False]
    plan = results[1].result
    [lost] = plan.destructive
    assert (lost.kind, lost.target, lost.count) == ("drop_column", "customers.email_address", 1)
    line = results[3].error_line
    assert "s1: drop_column customers.email_address (1 non-null value(s) dropped)" in line
    assert "s2: drop_table customers (2 row(s) dropped)" in line
    url = f"sqlite:///{workdir / 'shop.db'}"
    assert version(url) == {plan.current[0]} and "email_address" in columns(url, "customers")


def test_readme_dashboard_cells_show_the_dashboard_and_the_graph(nb, workdir, model_cell):
    nb.ok(model_cell)
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    made = nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    cells = re.findall(r"```python\n(.*?)```", section("The dashboard"), re.S)
    results = [nb.run(cell) for cell in cells]
    assert all(r.error is None for r in results), [r.error for r in results]
    from nbmigrate.widgets import Dashboard

    assert isinstance(nb.ns["ui"], Dashboard)
    assert made.revision.revision in nb.ns["ui"].header.value
    graph = results[1].result
    assert "<svg" in graph._repr_html_() and made.revision.revision in str(graph)
    assert (README.parent / "docs" / "dashboard.png").stat().st_size > 10_000


def test_readme_names_only_real_subcommands():
    known = set(subparsers(build_parser()))
    named = set(re.findall(r"%%?migrate ([a-z]+)", README.read_text(encoding="utf-8")))
    assert named <= known, f"README names sub-commands that do not exist: {named - known}"


def test_readme_has_the_two_setup_commands_ci_runs():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^python3 -m venv .*$", text, re.M)
    assert len(commands) == 2
    assert commands[0].endswith("nbmigrate demo")
    assert commands[1].endswith("pytest") and '".[test]"' in commands[1]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "grep -m1 -E '^python3 -m venv .* pytest' README.md" in ci


def test_readme_layout_names_what_is_in_the_tree():
    block = re.search(r"```\n(.*?)```", section("Layout"), re.S).group(1)
    listed, folder = [], ""
    for line in block.splitlines():
        name = line.split()[0] if line.strip() and not line.startswith(" " * 8) else ""
        if not name:
            continue
        if line.startswith("  "):  # a file inside the folder named above it
            listed.append(folder + name)
        else:
            folder = name if name.endswith("/") else ""
            listed.append(name)
    assert len(listed) >= 15
    missing = [path for path in listed if not (ROOT / path).exists()]
    assert missing == []
    package = ROOT / "nbmigrate"
    folders = {p.name + "/" for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {f"nbmigrate/{f}" for f in folders} <= set(listed)  # every part of the package


def test_readme_settings_and_lock_wait_defaults_are_the_real_ones():
    from nbmigrate.engine.lock_waits import DEFAULT_RETRIES, DEFAULT_TIMEOUT
    from nbmigrate.magics import NbMigrate

    text = README.read_text(encoding="utf-8")
    settings = set(re.findall(r"%config NbMigrate\.(\w+)", text))
    assert {"lock_timeout", "lock_retries", "confirm_destructive"} <= settings
    assert settings <= set(NbMigrate.class_trait_names(config=True))
    said = re.search(r"at most (\d+) seconds for its lock.*?growing pause, (\d+) times", text,
                     re.DOTALL)
    assert said and (float(said[1]), int(said[2])) == (DEFAULT_TIMEOUT, DEFAULT_RETRIES)
    assert NbMigrate.class_traits()["lock_retries"].default_value == DEFAULT_RETRIES
