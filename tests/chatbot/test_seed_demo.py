"""`manage.py seed_demo`: the demo site with the terms its bot used to have in code."""

from io import StringIO

import pytest
from django.core.management import call_command

from chatbot.models import Site
from chatbot.views import DEMO_SITE_NAME
from qualification.parsing import SiteTerms

pytestmark = pytest.mark.django_db


def seed():
    call_command("seed_demo", origins="http://127.0.0.1:8000", stdout=StringIO())
    return Site.objects.get(name=DEMO_SITE_NAME)


def test_the_demo_site_knows_its_product_and_competitors(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    terms = SiteTerms.for_site(seed())
    assert terms.product_name == "Northwind"
    assert {"clari", "gong", "people.ai", "salesloft", "outreach"} <= terms.competitors


def test_seeding_again_fills_empty_terms_and_keeps_what_admin_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    Site.objects.create(name=DEMO_SITE_NAME, allowed_origins="http://127.0.0.1:8000", competitors="Acme Rival")
    site = seed()
    assert site.competitor_list() == ["Acme Rival"] and site.product_name == "Northwind"


def test_the_demo_site_allows_the_port_make_run_serves_it_on(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DEMO_ORIGINS", raising=False)
    monkeypatch.setenv("WEB_PORT", "8123")
    call_command("seed_demo", stdout=StringIO())
    site = Site.objects.get(name=DEMO_SITE_NAME)
    assert site.origin_list() == ["http://127.0.0.1:8123", "http://localhost:8123"]


def make_run_dry(*variables: str) -> str:
    """The commands `make run` would run with these variables (``make -n``: nothing runs)."""
    import os
    import subprocess

    from tests.servers import ROOT

    env = {k: v for k, v in os.environ.items() if k not in {"PUBLIC_BASE_URL", "MAKEFLAGS", "MFLAGS"}}
    return subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_run_points_rasa_at_the_web_port_in_use():
    """`make run` with WEB_PORT moved: Rasa calls the actions where the web process listens."""
    printed = make_run_dry("WEB_PORT=8123")
    assert "bot_endpoints --action-url http://127.0.0.1:8123/bot/actions/" in printed
    printed = make_run_dry("WEB_PORT=8123", "PUBLIC_BASE_URL=https://chat.example.com")
    assert "bot_endpoints --action-url https://chat.example.com/bot/actions/" in printed
