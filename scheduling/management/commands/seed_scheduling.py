from datetime import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from scheduling.admin import SALES_GROUP
from scheduling.models import RoutingRule, SalesRep, WorkingHours

MON_TO_FRI = range(5)
DEMO_REPS = [
    # name, email, zone, working hours per weekday (several ranges allowed)
    ("Lena Vogel", "lena@leadbot.example", "Europe/Berlin", [(time(9), time(12)), (time(13), time(17))]),
    ("Marcus Reed", "marcus@leadbot.example", "America/New_York", [(time(9), time(17))]),
    ("Priya Nair", "priya@leadbot.example", "Asia/Kolkata", [(time(10), time(18))]),
]
REGION_RULES = [
    ("Europe", "europe", 0, 10),
    ("Americas", "americas", 1, 20),
    ("Asia", "asia", 2, 30),
]  # rep index, priority
# What a rep in the Sales group may do in admin (only on their own profile and meetings).
SALES_PERMISSIONS = [
    "view_meeting",
    "change_meeting",
    "view_salesrep",
    "change_salesrep",
    *(f"{verb}_{model}" for verb in ("view", "add", "change", "delete") for model in ("workinghours", "timeoff")),
]


class Command(BaseCommand):
    help = "Create demo sales reps in three zones, region routing and a default pool (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        group, _ = Group.objects.get_or_create(name=SALES_GROUP)
        # add, not set: the group also holds what analytics' migrations grant it.
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="scheduling", codename__in=SALES_PERMISSIONS)
        )
        User = get_user_model()
        reps = []
        for name, email, zone, ranges in DEMO_REPS:
            rep, created = SalesRep.objects.get_or_create(email=email, defaults={"name": name, "timezone": zone})
            if created:
                username = email.split("@")[0]
                user, _ = User.objects.get_or_create(username=username, defaults={"email": email, "is_staff": True})
                user.set_unusable_password()  # the admin sets one to let the rep log in
                user.save()
                user.groups.add(group)
                rep.user = user
                rep.save(update_fields=["user"])
                WorkingHours.objects.bulk_create(
                    WorkingHours(rep=rep, weekday=day, start=start, end=end)
                    for day in MON_TO_FRI
                    for start, end in ranges
                )
            reps.append(rep)
        for label, region, index, priority in REGION_RULES:
            rule, _ = RoutingRule.objects.get_or_create(
                name=f"{label} visitors", defaults={"priority": priority, "field": "region", "value": region}
            )
            rule.reps.add(reps[index])
        default, _ = RoutingRule.objects.get_or_create(name="Everyone else", defaults={"is_default": True})
        default.reps.add(*reps)
        self.stdout.write(f"Demo reps: {', '.join(f'{r.name} ({r.timezone})' for r in reps)}")
