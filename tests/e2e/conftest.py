"""Fixtures shared by the end-to-end conversation tests."""

import importlib

import pytest
from django.apps import apps as django_apps

from tests.e2e.chat import Chat
from tests.factories import SiteFactory, acreate


@pytest.fixture
def default_rules(transactional_db):
    """The shipped scoring rules (their data-migration rows are flushed between transactional tests)."""
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)


@pytest.fixture
async def chat(rasa_settings, default_rules):
    site = await acreate(SiteFactory)
    chat = await Chat.open(site, timezone="Europe/Berlin")
    yield chat
    await chat.close()
