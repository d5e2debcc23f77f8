"""Each side's modules import in its own environment, where the other side's framework is absent.

The web and the worker run in .venv (Python 3.12+, no Rasa); the Rasa server runs in .venv-rasa
(Python 3.10, no Django) and loads chatbot/rasa_plugins/ from this repository. Every module of each
side is imported in a fresh interpreter of its environment: one that needs the other side's
framework fails to import there, so it is caught here rather than in production. (`make lint`'s
import contracts catch the same statically; this catches what installs actually hold.)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rasa_side import rasa_bin

ROOT = Path(__file__).resolve().parent.parent
WEB_PACKAGES = ["config", "chatbot", "qualification", "scheduling", "analytics", "privacy", "access"]
RASA_PLUGINS = ROOT / "chatbot" / "rasa_plugins"
# Production settings refuse to load unconfigured (tests/security/test_settings_entry_points.py checks that).
NOT_IMPORTED = {"config.settings.production"}

# Imports the modules named in argv[2] (after django.setup() when argv[3] is "django") and prints, as
# JSON, whether the package argv[1] is absent from the environment, which modules failed and why,
# and whether anything loaded argv[1] after all.
PROBE = """
import importlib, importlib.util, json, sys, traceback
forbidden, modules, setup = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
report = {"python": list(sys.version_info[:2]), "absent": importlib.util.find_spec(forbidden) is None, "failed": {}}
if setup == "django":
    try:
        import django
        django.setup()
    except BaseException:
        report["failed"]["django.setup()"] = traceback.format_exc()[-1500:]
        modules = []
for name in modules:
    try:
        if name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(name.rsplit("/", 1)[-1][:-3], name)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            importlib.import_module(name)
    except BaseException:
        report["failed"][name] = traceback.format_exc()[-1500:]
report["loaded"] = sorted({m.split(".")[0] for m in sys.modules} & {forbidden})
print(json.dumps(report))
"""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def web_modules() -> list[str]:
    names = []
    for package in WEB_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if RASA_PLUGINS not in path.parents:
                names.append(module_name(path))
    return [name for name in names if name not in NOT_IMPORTED]


def rasa_modules() -> list[str]:
    plugins = [module_name(path) for path in sorted(RASA_PLUGINS.rglob("*.py"))]
    # The tools that run in the Rasa environment too: the NLU evaluation and the web tests' bridge.
    return [*plugins, "tests.rasa_env.bridge", str(ROOT / "scripts" / "nlu_eval.py")]


def imports(python: Path | str, modules: list[str], *, forbidden: str, django: bool, path: list[Path] = ()) -> dict:
    # This run's environment (the test settings read DATABASE_URL and REDIS_URL; nothing is connected to).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in [*path, ROOT])}
    if django:
        env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    result = subprocess.run(
        [str(python), "-c", PROBE, forbidden, json.dumps(modules), "django" if django else "-"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def web_imports(modules: list[str], **kwargs) -> dict:
    return imports(sys.executable, modules, forbidden="rasa", django=True, **kwargs)


def rasa_imports(modules: list[str], **kwargs) -> dict:
    return imports(rasa_bin("python"), modules, forbidden="django", django=False, **kwargs)


def test_every_web_module_imports_in_the_web_environment_which_has_no_rasa():
    modules = web_modules()
    report = web_imports(modules)

    assert len(modules) > 150 and "chatbot.action_server" in modules and "chatbot.rasa_plugins.nlg" not in modules
    assert report["python"] >= [3, 12]
    assert report["absent"], "rasa is installed in the web environment"
    assert report["failed"] == {}
    assert report["loaded"] == []


def test_every_module_the_rasa_server_loads_imports_in_the_rasa_environment_which_has_no_django():
    modules = rasa_modules()
    report = rasa_imports(modules)

    assert {"chatbot.rasa_plugins.channel", "chatbot.rasa_plugins.nlg", "chatbot.rasa_plugins.tracker_store"} <= set(
        modules
    )
    assert report["python"] == [3, 10]
    assert report["absent"], "Django is installed in the Rasa environment"
    assert report["failed"] == {}
    assert report["loaded"] == []


@pytest.mark.parametrize(
    ("side", "leak", "forbidden"),
    [
        (web_imports, "from rasa.shared.core.events import SlotSet\n", "rasa"),
        (rasa_imports, "import django\n", "django"),
    ],
)
def test_a_module_that_needs_the_other_sides_framework_is_caught(tmp_path, side, leak, forbidden):
    package = tmp_path / "leaky"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(leak)

    report = side(["leaky.helpers"], path=[tmp_path])

    assert list(report["failed"]) == ["leaky.helpers"]
    assert f"No module named '{forbidden}'" in report["failed"]["leaky.helpers"]
