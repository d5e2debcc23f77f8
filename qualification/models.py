from django.db import models

from chatbot.models import Conversation


class Lead(models.Model):
    """What one conversation found out about the visitor; stored as facts arrive."""

    class Authority(models.TextChoices):
        UNKNOWN = "", "Unknown"
        DECISION_MAKER = "decision_maker", "Decision maker"
        INFLUENCER = "influencer", "Influencer"
        RESEARCHER = "researcher", "Researcher"
        STUDENT = "student", "Student"

    class BuyingStage(models.TextChoices):
        UNKNOWN = "", "Unknown"
        IMMEDIATE = "immediate", "Buying now (under 1 month)"
        ACTIVE = "active", "Active (1-3 months)"
        PLANNING = "planning", "Planning (3-6 months)"
        FUTURE = "future", "Future (over 6 months)"
        BROWSING = "browsing", "Just looking"

    class Budget(models.TextChoices):
        UNKNOWN = "", "Unknown"
        HAS_BUDGET = "has_budget", "Has budget"
        RANGE = "range", "Budget range given"
        NOT_SURE = "not_sure", "Not sure"
        NONE = "none", "No budget"

    class VisitorType(models.TextChoices):
        UNKNOWN = "", "Unknown"
        PROSPECT = "prospect", "Prospect (may buy)"
        STUDENT = "student", "Student"
        JOB_SEEKER = "job_seeker", "Job seeker"
        COMPETITOR = "competitor", "Competitor"
        VENDOR = "vendor", "Vendor pitching"
        EXISTING_CUSTOMER = "customer", "Existing customer"

    class Outcome(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        QUALIFIED = "qualified", "Qualified"
        NURTURE = "nurture", "Nurture"
        DISQUALIFIED = "disqualified", "Disqualified"

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="lead")
    visitor_type = models.CharField(max_length=20, choices=VisitorType.choices, blank=True)
    need_text = models.TextField(blank=True, help_text="The visitor's need in their own words")
    use_case = models.CharField(max_length=50, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    role = models.CharField(max_length=200, blank=True)
    authority = models.CharField(max_length=20, choices=Authority.choices, blank=True)
    timeline_months = models.PositiveSmallIntegerField(null=True, blank=True)
    buying_stage = models.CharField(max_length=20, choices=BuyingStage.choices, blank=True)
    budget = models.CharField(max_length=20, choices=Budget.choices, blank=True)
    budget_amount = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    email_flag = models.CharField(max_length=20, blank=True, help_text="free_mail or disposable when flagged")
    # {"company_size": "about 200 people", ...}: what the visitor actually typed for each fact
    raw = models.JSONField(default=dict, blank=True)
    score = models.IntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.INCOMPLETE, db_index=True)
    # [{"rule": id, "text": "company size ≥ 20", "points": 20, "knockout": false}, ...]
    reasons = models.JSONField(default=list, blank=True)
    rule_set_version = models.CharField(max_length=64, blank=True)
    consent_email_followup = models.BooleanField(default=False)
    consent_marketing = models.BooleanField(default=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.company_name or self.email or f"Lead {self.pk}"
