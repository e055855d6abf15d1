"""Two processes upgrading one database at once are serialised: each revision runs once."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import table_revision, tables, version


def test_two_processes_upgrading_at_once_apply_each_revision_once(nb, db_url, workdir):
    nb.ok(f"%migrate init migrations --url {db_url}")
    # each revision sleeps long enough for the other process to arrive
    nb.ok(table_revision("c1", "first_table", "import time", "time.sleep(1.5)"))
    nb.ok(table_revision("c2", "second_table", "import time", "time.sleep(1.5)"))
    env = {**os.environ, "NBMIGRATE_URL": db_url}
    runs = [subprocess.Popen([sys.executable, "-m", "nbmigrate.cli", "upgrade", "head"],
                             cwd=workdir, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    assert "nothing to do (after waiting" in said[0]  # it waited, then found it done
    assert said[1].startswith("upgraded default from base")
    assert any("waiting" in err for _, err in outputs)  # told why it paused
    assert version(db_url) == {"c2"}
    assert {"first_table", "second_table"} <= tables(db_url)
    log = nb.ok("%migrate log")
    assert sorted(log[log["direction"] == "up"]["revision"]) == ["c1", "c2"]  # once each
    assert log["success"].all()
