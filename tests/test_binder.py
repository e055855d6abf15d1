"""Binder can run the tutorials: what can be checked without building the image.

repo2docker runs ``pip install -r binder/requirements.txt`` from the repository's
root; a line naming a local path makes it wait until the repository is copied in,
so the line ``.`` installs nbmigrate as the repository holds it. The README's
badge is the one place that names the GitHub repository (a placeholder until it
is published); every other link must agree with it.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys

import nbformat
from helpers import ROOT
from packaging.requirements import Requirement

BINDER = ROOT / "binder"
BADGE = re.compile(
    r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
    r"\((https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/([\w.-]+)\?labpath=([\w./%-]+))\)"
)


def requirement_lines() -> list[str]:
    """The requirements, comments and blank lines dropped."""
    text = (BINDER / "requirements.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def local_path(line: str) -> str | None:
    """The path a requirement installs from, as repo2docker spots one (a leading '.')."""
    words = line.removeprefix("--editable=").split()
    if words[0] in ("-e", "--editable"):
        words = words[1:]
    return words[0] if words and words[0].startswith(".") else None


def named_requirements() -> dict[str, Requirement]:
    found = [Requirement(line) for line in requirement_lines() if local_path(line) is None]
    return {r.name.lower().replace("_", "-"): r for r in found}


def test_binder_installs_nbmigrate_from_this_repository():
    locals_ = [path for line in requirement_lines() if (path := local_path(line))]
    assert len(locals_) == 1, "binder/requirements.txt installs the repository once"
    # pip reads a project path in a requirements file from where it runs: the repo root
    project = (ROOT / locals_[0]).resolve()
    assert project == ROOT, f"{locals_[0]!r} is {project}, not the repository's root"
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'(?m)^\[project\]\nname = "nbmigrate"$', pyproject)


def test_binder_brings_jupyterlab_and_the_widgets_frontend():
    named = named_requirements()
    assert "jupyterlab" in named and named["jupyterlab"].specifier.contains("4.0")
    assert "ipywidgets" in named and not named["ipywidgets"].specifier.contains("7.8")
    # ipywidgets 8 depends on jupyterlab_widgets, a prebuilt extension: no postBuild step
    requires = importlib.metadata.requires("ipywidgets") or []
    assert any(r.startswith("jupyterlab_widgets") for r in requires), requires
    post_build = BINDER / "postBuild"
    assert not post_build.exists() or os.access(post_build, os.X_OK), \
        "repo2docker runs binder/postBuild: it must be executable"


def test_readme_badge_opens_this_repositorys_notebooks_on_binder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if line.strip()]
    assert lines[0] == "# nbmigrate"
    badge = BADGE.fullmatch(lines[1])
    assert badge, f"the line under the heading is not the Binder badge: {lines[1]!r}"
    url, owner, repo, ref, labpath = badge.groups()
    # the repository is named in one place: every Binder or GitHub link agrees with the badge
    assert re.findall(r"https://mybinder\.org/v2/gh/[^\s)]+", readme) == [url]
    for other in re.findall(r"github\.com/([\w.-]+)/([\w.-]+)", readme):
        assert other == (owner, repo.removesuffix(".git")), other
    assert ref == "HEAD"
    opens = ROOT / labpath.replace("%2F", "/")
    assert opens.exists() and ROOT / "notebooks" in (opens, opens.parent), labpath


def test_binder_installs_everything_the_notebooks_import():
    dependencies = re.search(r"(?ms)^dependencies = \[(.*?)^\]",
                             (ROOT / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    installed = {"nbmigrate", *named_requirements(),
                 *(Requirement(d).name.lower() for d in re.findall(r'"([^"]+)"', dependencies))}
    distributions = importlib.metadata.packages_distributions()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        source = "\n".join(c.source for c in cells if c.cell_type == "code")
        imported = re.findall(r"(?m)^\s*from (\w+)", source) + [
            name.split()[0].split(".")[0]
            for names in re.findall(r"(?m)^\s*import ([\w., ]+)", source)
            for name in names.split(",")]
        for module in set(imported):
            if module in sys.stdlib_module_names or module == "nbmigrate":
                continue
            names = {d.lower() for d in distributions.get(module, [])}
            assert names & installed, f"{path.name} imports {module}, which Binder lacks"
