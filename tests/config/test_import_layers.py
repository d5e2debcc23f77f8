"""The apps' dependencies point down: import-linter's contracts in pyproject.toml hold for the tree.

chatbot is the ground floor: it imports none of the apps built on it (qualification, scheduling,
analytics, privacy, access, inbox), and config's shared modules import no app at all.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ROOT_PACKAGES = ("chatbot", "qualification", "scheduling", "analytics", "privacy", "access", "inbox", "config")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_chatbot_importing_an_app_above_it_breaks_the_contracts(tmp_path):
    # The same check on a copy of the tree where the chat reaches up into analytics.
    for package in ROOT_PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=lambda folder, names: [n for n in names if not n.endswith(".py") and "." in n],
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    selectors = tmp_path / "chatbot" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom analytics import rollups  # noqa\n")

    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "chatbot is not allowed to import analytics" in result.stdout
    assert "chatbot.selectors -> analytics.rollups" in result.stdout
