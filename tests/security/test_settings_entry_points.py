"""No entry point falls back to the laptop settings: unconfigured, each refuses to start and
says what is missing. Rasa's HTTP API runs only behind a token."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import ROOT

# What a production host that forgot DJANGO_SETTINGS_MODULE (and everything else) has.
BARE_ENV = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "config.asgi": [sys.executable, "-c", "import config.asgi"],
    "config.celery": [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "--timeout", "1"],
}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_without_settings_refuses_to_start_and_says_why(entry_point, tmp_path):
    result = subprocess.run(
        ENTRY_POINTS[entry_point],
        cwd=ROOT,
        env={**BARE_ENV, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Production settings refused" in output
    assert "DEBUG must be off" not in output  # production settings, not the laptop's with DEBUG on
    assert "DJANGO_SETTINGS_MODULE=config.settings.local" in output  # and what to do for the demo


def test_procfile_and_makefile_name_the_settings():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    for process in ("web", "worker"):
        assert "DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:?" in procfile[process]
    assert "--no-proxy-headers" in procfile["web"]
    assert "scripts/rasa-run.sh" in procfile["rasa"] and "--enable-api" not in procfile["rasa"]
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export DJANGO_SETTINGS_MODULE := $(LOCAL_SETTINGS)" in makefile
    assert "LOCAL_SETTINGS := config.settings.local" in makefile


def rasa_run_args(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """scripts/rasa-run.sh with a stand-in rasa that prints the arguments it was given."""
    fake = tmp_path / "rasa"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    return subprocess.run(
        [str(ROOT / "scripts" / "rasa-run.sh"), "-p", "5005"],
        env={**BARE_ENV, "RASA": str(fake), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_rasa_runs_without_its_http_api_unless_a_token_is_set(tmp_path):
    without = rasa_run_args(tmp_path)
    assert without.returncode == 0 and without.stdout.split() == ["run", "-p", "5005"]
    token = "-" + "t" * 40  # a token may start with "-": passed as one word, never read as an option
    with_token = rasa_run_args(tmp_path, RASA_API_TOKEN=token)
    assert with_token.stdout.split() == ["run", "--enable-api", f"--auth-token={token}", "-p", "5005"]
    short = rasa_run_args(tmp_path, RASA_API_TOKEN="short")
    assert short.returncode != 0 and "RASA_API_TOKEN must be at least 32 characters" in short.stderr


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_running_rasa_answers_its_api_only_with_the_token(live_servers):
    tracker = "/conversations/someone/tracker"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{live_servers.rasa_url}{tracker}", timeout=10)
    assert refused.value.code == 401
    with urllib.request.urlopen(live_servers.rasa_api(tracker), timeout=10) as response:
        assert response.status == 200
