"""What runs inside the Rasa process (chatbot/rasa_plugins/) never loads Django or our apps."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PLUGINS = sorted(p.stem for p in (ROOT / "chatbot/rasa_plugins").glob("*.py") if p.stem != "__init__")


def test_the_rasa_plugins_import_no_django():
    code = (
        "import importlib, sys\n"
        f"for name in {PLUGINS!r}: importlib.import_module('chatbot.rasa_plugins.' + name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
        "{'django', 'channels', 'qualification', 'scheduling', 'analytics', 'privacy', 'config'}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert PLUGINS == ["channel", "nlg", "tracker_store"]
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
