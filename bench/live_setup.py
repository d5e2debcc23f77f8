"""What the benchmarks that start their own servers (tests/servers.py) need first: Django on the
database DATABASE_URL names (a migrated PostgreSQL database, seeded by `manage.py seed_demo`), and
the demo site the visitors chat on.

Each benchmark inserts the project's root on sys.path before importing this (it runs as a script,
with bench/ first on the path).
"""

import os


def demo_site(*, make_target: str, redis: bool = False):
    """Django set up on DATABASE_URL (test settings unless DJANGO_SETTINGS_MODULE says otherwise) and the
    demo site; exits saying what to run when the database, Redis (``redis``) or the site is missing."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or (redis and not os.environ.get("REDIS_URL")):
        needs = " and REDIS_URL" if redis else ""
        raise SystemExit(f"set DATABASE_URL (a migrated, seeded PostgreSQL database){needs} (`{make_target}` does).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from chatbot.models import Site
    from chatbot.views import DEMO_SITE_NAME

    site = Site.objects.filter(name=DEMO_SITE_NAME).first()
    if site is None or not site.origin_list():
        raise SystemExit("no demo site: run `manage.py seed_demo` on this database first.")
    return site
