import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from chatbot.models import Site
from chatbot.views import DEMO_SITE_NAME


def demo_origins() -> str:
    """The demo page's own origins: where `make run` serves it (WEB_PORT, default 8000)."""
    port = os.environ.get("WEB_PORT") or "8000"
    return f"http://127.0.0.1:{port}\nhttp://localhost:{port}"


# What the demo's bot knows of its customer (Site.product_name and Site.competitors, edited in admin):
# the demo sells Northwind Pipeline, a revenue forecasting product, against these.
DEMO_SITE_TERMS = {
    "product_name": "Northwind",
    "competitors": "\n".join(
        ("Clari", "Gong", "Aviso", "InsightSquared", "BoostUp", "People.ai", "Salesloft", "Outreach", "Forecastio")
    ),
}


class Command(BaseCommand):
    help = "Create the demo site and an admin user (idempotent); prints how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--origins", default=(os.environ.get("DEMO_ORIGINS") or demo_origins()).replace(",", "\n"))

    def handle(self, *args, origins: str, **options):
        site, created = Site.objects.get_or_create(
            name=DEMO_SITE_NAME, defaults={"allowed_origins": origins, **DEMO_SITE_TERMS}
        )
        # the origins follow the command line; the terms are filled only where empty (admin edits stay)
        changes = {field: value for field, value in DEMO_SITE_TERMS.items() if not getattr(site, field)}
        if site.allowed_origins != origins:
            changes["allowed_origins"] = origins
        if not created and changes:
            for field, value in changes.items():
                setattr(site, field, value)
            site.save(update_fields=list(changes))
        User = get_user_model()
        password_file = os.path.join(os.environ.get("VAR_DIR", "var"), "admin-password")
        user = User.objects.filter(username="admin").first()
        if user is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@example.com", password)
            os.makedirs(os.path.dirname(password_file), exist_ok=True)
            with open(password_file, "w") as fh:
                fh.write(password + "\n")
        try:
            with open(password_file) as fh:
                password = fh.read().strip()
        except OSError:
            password = "(set earlier; reset with: manage.py changepassword admin)"
        self.stdout.write(f"Demo site: {site.name} (embed key {site.embed_key})")
        self.stdout.write(f"Admin login: admin / {password}")
        call_command("seed_scheduling", stdout=self.stdout)
