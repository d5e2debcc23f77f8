"""The systemd units in deploy/systemd/ are valid: `systemd-analyze verify` accepts every one of them,
with no warning, once installed where they expect to be (here: /opt/leadbot is this checkout)."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
UNITS = ROOT / "deploy" / "systemd"
# What `systemctl enable` would start: the templates with an instance (a port), the others as they are.
STARTED = ["leadbot-web@8000.service", "leadbot-rasa@5005.service", "leadbot-worker.service", "leadbot-beat.service"]

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def installed(folder: Path, edit=lambda name, text: text) -> Path:
    """The units as a machine would have them, with this checkout as /opt/leadbot. User= and Group=
    go: the leadbot user does not exist here, and verify would refuse the unit for that alone."""
    folder.mkdir()
    for unit in [*UNITS.glob("*.service"), *UNITS.glob("*.target")]:
        text = unit.read_text().replace("/opt/leadbot", str(ROOT))
        text = text.replace("/etc/leadbot/leadbot.env", str(UNITS / "leadbot.env.example"))
        text = "\n".join(line for line in text.splitlines() if not line.startswith(("User=", "Group=")))
        (folder / unit.name).write_text(edit(unit.name, text) + "\n")
    return folder


def verify(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *STARTED, "leadbot.target"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_unit_verifies_without_a_warning(tmp_path):
    result = verify(installed(tmp_path / "units"))
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_the_check_catches_a_mistyped_setting_and_a_missing_program(tmp_path):
    def break_web(name: str, text: str) -> str:
        if name == "leadbot-web@.service":
            return text.replace("Restart=always", "Restartt=always").replace(
                "/.venv/bin/uvicorn", "/.venv/bin/uvicornn"
            )
        return text

    result = verify(installed(tmp_path / "units", break_web))
    assert result.returncode != 0
    assert "Restartt" in result.stderr and "uvicornn" in result.stderr


def test_the_example_environment_starts_production_once_its_secrets_are_filled_in():
    """leadbot.env.example names everything production refuses to start without: with each
    "change-me" placeholder replaced by a random value, the production settings load."""
    example = (UNITS / "leadbot.env.example").read_text()
    values = dict(line.split("=", 1) for line in example.splitlines() if "=" in line and not line.startswith("#"))
    filled = {
        name: secrets.token_urlsafe(48) if value.startswith("change-me") else value for name, value in values.items()
    }
    filled = {name: value.replace("change-me", secrets.token_hex(8)) for name, value in filled.items()}  # in URLs
    code = "import django; django.setup(); from django.conf import settings; print(settings.RASA_URLS)"
    env = {"PATH": os.environ["PATH"], **filled}
    started = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0, started.stderr[-2000:]
    assert "5006" in started.stdout  # the two Rasa servers the example lists

    # The placeholders themselves are refused, as a forgotten one should be.
    env = {"PATH": os.environ["PATH"], **values}
    refused = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "Production settings refused" in refused.stderr
