"""The CSV export mixin on the other teams' admins: the changelist's columns, its filtered rows, its restrictions."""

import csv
import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.utils.text import capfirst

from access.groups import SALES
from config.csv_export import CSVExportMixin
from scheduling.models import Meeting

MEETINGS = "/admin/scheduling/meeting/"


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.fixture
def meeting_admin():
    model_admin = admin.site._registry.get(Meeting)
    assert isinstance(model_admin, CSVExportMixin), "MeetingAdmin must offer the CSV export"
    return model_admin


def test_meeting_export_has_the_changelist_columns_and_filtered_rows(client, known, meeting_admin):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    params = {"status__exact": Meeting.Status.HELD}
    page = client.get(MEETINGS, params)
    header = [capfirst(str(h["text"])) for h in page.context["result_headers"]][1:]
    rows = _csv(client.get(f"{MEETINGS}export-csv/", params))
    assert rows[0] == header
    assert len(rows) - 1 == page.context["cl"].result_count == 1  # only C1's meeting was held
    assert "Alice" in rows[1]
    assert "Export CSV (1 rows)" in page.content.decode()


def test_sales_user_exports_only_their_own_meetings(client, known, meeting_admin):
    user = User.objects.create_user("al", "al@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=SALES))
    known.alice.user = user
    known.alice.save()
    client.force_login(user)
    rows = _csv(client.get(f"{MEETINGS}export-csv/"))
    reps = {row[rows[0].index("Rep")] for row in rows[1:]}
    assert reps == {"Alice"}  # C1 and C7, never Bob's
    assert len(rows) - 1 == 2


def test_lead_export_has_the_changelist_columns_and_filtered_rows(client, known):
    from qualification.models import Lead

    model_admin = admin.site._registry.get(Lead)
    assert isinstance(model_admin, CSVExportMixin), "LeadAdmin must offer the CSV export"
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    params = {"outcome__exact": Lead.Outcome.QUALIFIED}
    page = client.get("/admin/qualification/lead/", params)
    header = [capfirst(str(h["text"])) for h in page.context["result_headers"]][1:]
    rows = _csv(client.get("/admin/qualification/lead/export-csv/", params))
    assert rows[0] == header
    assert len(rows) - 1 == page.context["cl"].result_count == 4  # C1, C6, C7, C8
    emails = {row[rows[0].index("Email")] for row in rows[1:]}
    assert {"ana@acme.example", "di@hooli.example"} <= emails
