"""`make audit` (scripts/audit.py): pip-audit over the web environment's pinned set, strictly.

OSV is played by tests/fakes/osv.py. The audit passes only when every pin was looked up and none
is vulnerable, and says so plainly when nothing could be checked.
"""

import subprocess
import sys

import pytest

from tests.fakes.osv import FakeOSV
from tests.servers import ROOT, free_port


@pytest.fixture
def osv():
    fake = FakeOSV().start()
    yield fake
    fake.stop()


def audit(requirements, osv_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit.py"), str(requirements), "-s", "osv", "--osv-url", osv_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_every_pin_of_the_web_environment_is_looked_up(osv):
    pins = [line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]

    result = audit(ROOT / "requirements.txt", osv.url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(pins) > 100 and len(osv.queries) == len(pins)
    assert (
        f"{len(pins)} of {len(pins)} pinned packages checked, 0 could not be, 0 known vulnerabilities" in result.stdout
    )


def test_a_vulnerable_pin_fails_the_audit_and_names_the_fix(osv, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("django==5.2.1\nwhitenoise==6.12.0\n")
    osv.vulnerable[("django", "5.2.1")] = {"id": "PYSEC-2099-1", "fixed": "5.2.2"}

    result = audit(requirements, osv.url)

    assert result.returncode == 1
    assert "django==5.2.1: PYSEC-2099-1 (fixed in: 5.2.2)" in result.stdout
    assert "2 of 2 pinned packages checked, 0 could not be, 1 known vulnerabilities in 1 packages" in result.stdout


def test_no_reachable_vulnerability_database_means_nothing_was_checked_not_success(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("whitenoise==6.12.0\n")

    result = audit(requirements, f"http://127.0.0.1:{free_port()}/v1/query")

    assert result.returncode == 2
    assert "NOTHING WAS CHECKED" in result.stderr
