"""Known vulnerabilities in a locked requirements file, with pip-audit, strictly.

Usage: .venv/bin/python scripts/audit.py requirements.txt [pip-audit options, e.g. -s osv]

Passes only when every pinned package was looked up in the vulnerability database and none has
a known vulnerability. A package that could not be looked up fails the audit (pip-audit's
--strict), and when not one could (no route to PyPI's or OSV's vulnerability data), it says that
nothing was checked instead of reporting success. Exits 0 clean, 1 vulnerable or partly
unchecked, 2 nothing checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

NOTHING_CHECKED = 2


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return NOTHING_CHECKED
    requirements, extra = argv[0], argv[1:]
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        # Every pin is exact (uv pip compile): no resolution, no scratch virtualenv. Not --strict here:
        # it stops at the first package it cannot look up; this script fails on any such package instead,
        # after counting them.
        command = [str(pip_audit), "-r", requirements, "--no-deps", "--disable-pip", "--progress-spinner", "off"]
        result = subprocess.run(
            [*command, "-f", "json", "-o", str(report_path), *extra], capture_output=True, text=True
        )
        report = json.loads(report_path.read_text()) if report_path.exists() and report_path.stat().st_size else None
    if report is None:
        why = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"audit: NOTHING WAS CHECKED: pip-audit could not run the audit ({why[:300]})", file=sys.stderr)
        return NOTHING_CHECKED

    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    checked = [d for d in dependencies if not d.get("skip_reason")]
    vulnerable = [d for d in checked if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"{dependency['name']}=={dependency['version']}: {vuln['id']} (fixed in: {fixes})")
    if not checked:
        reason = skipped[0]["skip_reason"] if skipped else "the requirements file names no package"
        print(
            f"audit: NOTHING WAS CHECKED: none of the {len(dependencies)} pinned packages of {requirements} could be "
            f"looked up in a vulnerability database (first: {reason}). From a machine that reaches PyPI's JSON API "
            "(or OSV: `make audit AUDIT_ARGS='-s osv'`), run `make audit` again.",
            file=sys.stderr,
        )
        return NOTHING_CHECKED
    if skipped:
        for dependency in skipped:
            print(f"not checked: {dependency['name']}: {dependency['skip_reason']}", file=sys.stderr)
    print(
        f"audit: {len(checked)} of {len(dependencies)} pinned packages checked, {len(skipped)} could not be, "
        f"{sum(len(d['vulns']) for d in vulnerable)} known vulnerabilities in {len(vulnerable)} packages"
    )
    return 1 if skipped or vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
