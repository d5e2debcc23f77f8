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
