"""The setup files agree with each other, and the environment helpers do what chapters expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

from bertlab import environment

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {_name(r) for r in extra}
    return names


def _environment_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)", line)
        if match and not line.strip().endswith(":"):
            names.add(_name(match.group(1)))
    return names - {"python", "pip"}


def test_environment_yml_names_the_same_packages_as_pyproject() -> None:
    assert _environment_packages() == _pyproject_packages()


def test_lockfile_pins_every_pyproject_package_and_torch_exactly() -> None:
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==")
            lock[_name(name)] = version.strip()
    missing = _pyproject_packages() - set(lock)
    assert not missing, f"requirements.lock lacks {missing}"
    assert lock["torch"] == "2.13.0"  # anything else pulls a multi-GB CUDA build here


def test_environment_yml_pins_torch_like_the_lockfile() -> None:
    assert "torch==2.13.0" in (ROOT / "environment.yml").read_text()


def test_makefile_and_ci_run_the_readme_command() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "BERTLAB_QUICK=1" in makefile and "--nbval-lax" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_quick_mode_and_pick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTLAB_QUICK", "1")
    assert environment.quick_mode() and environment.pick(100, 3) == 3
    monkeypatch.setenv("BERTLAB_QUICK", "0")
    assert not environment.quick_mode() and environment.pick(100, 3) == 100
    monkeypatch.delenv("BERTLAB_QUICK")
    assert not environment.quick_mode()


def test_set_seed_makes_torch_repeat() -> None:
    torch = pytest.importorskip("torch")
    environment.set_seed(3)
    first = torch.rand(4)
    environment.set_seed(3)
    assert torch.equal(first, torch.rand(4))


def test_environment_report_names_what_a_learner_checks(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BERTLAB_ARTIFACTS", str(tmp_path / "art"))
    report = environment.environment_report()
    for key in ("python", "torch", "device", "quick mode"):
        assert key in report
    assert environment.artifacts_dir() == tmp_path / "art" and (tmp_path / "art").is_dir()


def test_corpus_explorer_updates_its_figure_and_document() -> None:
    from bertlab.viz.corpus import CorpusExplorer

    explorer = CorpusExplorer(n_documents=120, seed=0)
    story_heights = [bar.get_height() for bar in explorer.ax.patches]
    story_text = explorer.document.text
    explorer.kind.value = "review"
    review_heights = [bar.get_height() for bar in explorer.ax.patches]
    assert explorer.document.kind == "review" and review_heights != story_heights
    explorer.index.value = 1
    assert explorer.document is explorer.documents[1]
    explorer.kind.value = "story"
    explorer.index.value = 0
    explorer.seed.value = 9
    assert explorer.document.text != story_text
    assert "seed 9" in explorer.ax.get_title()
