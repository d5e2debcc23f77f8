"""The Rasa environment (.venv-rasa) as seen from the web environment's tests.

The web environment has no Rasa (tests/test_environments.py checks it). What runs Rasa runs its
programs from .venv-rasa: the server and `rasa test core` (tests/servers.py, tests/e2e/), and
tests/rasa_env/bridge.py for the checks that need Rasa's own code next to Django's.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# RASA_VENV points elsewhere when the Rasa environment is not the repository's own .venv-rasa.
RASA_VENV = Path(os.environ.get("RASA_VENV") or ROOT / ".venv-rasa")
BRIDGE_TIMEOUT_SECONDS = 300


def rasa_bin(name: str) -> Path:
    """A program of the Rasa environment (rasa, python)."""
    path = RASA_VENV / "bin" / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build the Rasa environment with `make venv`.")
    return path


def bridge_command(*args: str) -> list[str]:
    return [str(rasa_bin("python")), "-m", "tests.rasa_env.bridge", *args]


def nlu_examples(yaml_text: str) -> set[tuple[str, str]]:
    """The (intent, text) examples Rasa reads from this training data."""
    result = subprocess.run(
        bridge_command("nlu-examples"),
        input=yaml_text,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BRIDGE_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise AssertionError(f"Rasa could not read the training data:\n{result.stderr[-3000:]}")
    return {(intent, text) for intent, text in json.loads(result.stdout)}


class RasaTrackerStore:
    """Rasa's tracker store, built by Rasa from an endpoints-file section, in a process of the Rasa environment."""

    def __init__(self, config: dict) -> None:
        self.process = subprocess.Popen(
            bridge_command("tracker-store", json.dumps(config)),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._answer()  # ready, or the reason it is not

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=BRIDGE_TIMEOUT_SECONDS)
            raise RuntimeError(f"the tracker-store bridge exited:\n{self.process.stderr.read()[-3000:]}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(answer["error"])
        return answer

    def request(self, **request) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def write_turn(self, sender: str, *, at: float, email: str) -> None:
        self.request(op="write_turn", sender=sender, at=at, email=email)

    def has(self, sender: str) -> bool:
        return self.request(op="has", sender=sender)["has"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()

    def __enter__(self) -> RasaTrackerStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
