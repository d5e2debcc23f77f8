"""The bot's own conversation tests (chatbot/bot/tests/stories/) pass on the trained model.

`rasa test core` replays each test story turn by turn and compares the action the
model predicts with the one the story expects; one wrong prediction fails the story.
"""

import subprocess
from pathlib import Path

import pytest

from tests.rasa_side import rasa_bin
from tests.servers import model_path

ROOT = Path(__file__).resolve().parent.parent.parent
STORIES = ROOT / "chatbot/bot/tests/stories"

pytestmark = pytest.mark.e2e  # the trained model, though no server


def test_every_test_story_is_predicted_exactly(tmp_path):
    result = subprocess.run(
        [
            str(rasa_bin("rasa")),
            "test",
            "core",
            "--model",
            str(model_path()),
            "--stories",
            str(STORIES),
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
            "--no-plot",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = tmp_path / "failed_test_stories.yml"
    report = failed.read_text() if failed.exists() else ""
    output = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line or "Error" in line
    )
    assert result.returncode == 0 and "story:" not in report, (
        f"rasa test core failed (exit {result.returncode}).\nFailed stories:\n{report}\nErrors:\n{output[-3000:]}"
    )
