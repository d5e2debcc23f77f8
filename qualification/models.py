from django.core.exceptions import ValidationError
from django.db import models

from chatbot.models import Conversation


class Lead(models.Model):
    """What one conversation found out about the visitor; stored as facts arrive."""

    class Authority(models.TextChoices):
        UNKNOWN = "", "Unknown"
        DECISION_MAKER = "decision_maker", "Decision maker"
        INFLUENCER = "influencer", "Influencer"
        CONTRIBUTOR = "contributor", "Individual contributor"
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
    # [{"rule": id, "text": "company size ≥ 20", "points": 20, "effect": "points",
    #   "field": "company_size", "knockout": false}, ...]
    # in rule order, written only by qualification.scoring.lead_decide (see LeadDecision for history)
    reasons = models.JSONField(default=list, blank=True)
    rule_set_version = models.CharField(max_length=64, blank=True)
    consent_email_followup = models.BooleanField(default=False)
    consent_marketing = models.BooleanField(default=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return self.company_name or self.email or f"Lead {self.pk}"


# The facts a rule may look at, for scoring and routing alike (qualification.rules.lead_facts gives
# their values). Numeric ones take ≥ ≤ > <; the rest compare as text, ignoring case.
NUMERIC_FIELDS = ("company_size", "timeline_months", "budget_amount")
RULE_FIELDS = (
    ("visitor_type", "Visitor type"),
    ("company_size", "Company size (people)"),
    ("authority", "Authority"),
    ("role", "Role / job title"),
    ("buying_stage", "Buying stage"),
    ("timeline_months", "Timeline (months)"),
    ("budget", "Budget"),
    ("budget_amount", "Budget amount"),
    ("industry", "Industry"),
    ("country", "Country (ISO code)"),
    ("use_case", "Use case"),
    ("email_flag", "Email flag"),
    ("email", "Email address"),
    ("company_name", "Company name"),
    ("need_text", "Need (visitor's words)"),
    ("region", "Region (from the country, else the browser's time zone)"),
    ("segment", "Segment (from the company size)"),
    ("timezone", "Browser time zone"),
)
# Derived facts with a closed set of values (qualification.rules computes them).
REGIONS = (
    ("europe", "Europe"),
    ("americas", "Americas"),
    ("asia", "Asia"),
    ("africa", "Africa"),
    ("oceania", "Oceania"),
)
SEGMENTS = (
    ("enterprise", "Enterprise (1,000+ people)"),
    ("mid_market", "Mid-market (200-999 people)"),
    ("smb", "Small business (under 200 people)"),
)
# Fields with a closed set of values: a rule naming any other value is rejected in clean().
FIELD_VALUES = {
    "visitor_type": Lead.VisitorType,
    "authority": Lead.Authority,
    "buying_stage": Lead.BuyingStage,
    "budget": Lead.Budget,
    "email_flag": (("free_mail", "Free mail"), ("disposable", "Disposable")),
    "region": REGIONS,
    "segment": SEGMENTS,
}


def field_choices(field: str) -> list[tuple[str, str]]:
    """(value, label) pairs a rule on this field may name; empty for open text and numbers."""
    values = FIELD_VALUES.get(field)
    if values is None:
        return []
    pairs = values.choices if hasattr(values, "choices") else values
    return [(value, label) for value, label in pairs if value]


class Operator(models.TextChoices):
    EQUALS = "eq", "equals"
    NOT_EQUALS = "ne", "does not equal"
    ONE_OF = "in", "is one of"
    NOT_ONE_OF = "not_in", "is not one of"
    GTE = "gte", "≥"
    LTE = "lte", "≤"
    GT = "gt", ">"
    LT = "lt", "<"
    CONTAINS = "contains", "contains"
    IS_SET = "is_set", "is set"
    IS_EMPTY = "is_empty", "is empty"


NUMERIC_OPERATORS = (Operator.GTE, Operator.LTE, Operator.GT, Operator.LT)
LIST_OPERATORS = (Operator.ONE_OF, Operator.NOT_ONE_OF)
VALUELESS_OPERATORS = (Operator.IS_SET, Operator.IS_EMPTY)


def condition_values(*, operator: str, value: str) -> list[str]:
    """A condition's value(s), stripped; one entry unless the operator takes a list."""
    if operator in LIST_OPERATORS:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value.strip()] if value.strip() else []


def condition_clean(*, field: str, operator: str, value: str) -> tuple[str, dict[str, str]]:
    """Validate "<field> <operator> <value>": (the value as stored, errors by form field).

    One validation for every rule that holds a condition (scoring and routing rules, and the
    migration that converted old routing rows). Choice values may be given by their label and are
    stored as the value; countries are stored upper case.
    """
    field_label = dict(RULE_FIELDS).get(field)
    if field_label is None or operator not in Operator.values:
        return value, {}  # the fields' own choice validation reports it
    label = Operator(operator).label
    numeric_field = field in NUMERIC_FIELDS
    values = condition_values(operator=operator, value=value)
    if operator in VALUELESS_OPERATORS:
        if values:
            return value, {"value": f"Leave the value empty for “{label}”."}
        return value, {}
    if not values:
        return value, {"value": f"“{label}” needs a value."}
    if operator in NUMERIC_OPERATORS and not numeric_field:
        return value, {
            "operator": f"“{label}” compares numbers, and {field_label} is not a number. "
            f"Numeric fields: {', '.join(NUMERIC_FIELDS)}."
        }
    if operator == Operator.CONTAINS and numeric_field:
        return value, {"operator": f"“contains” compares text, and {field_label} is a number."}
    if numeric_field:
        bad = [part for part in values if not _is_int(part)]
        if bad:
            return value, {"value": f"{field_label} is a number: “{', '.join(bad)}” is not a whole number."}
    elif choices := field_choices(field):
        normalised, unknown = [], []
        for part in values:
            match = next((key for key, text in choices if part.casefold() in (key, text.casefold())), None)
            (normalised if match else unknown).append(match or part)
        if unknown and operator != Operator.CONTAINS:
            allowed = ", ".join(f"{key} ({text})" for key, text in choices)
            return value, {
                "value": f"Unknown {field_label.lower()} value “{', '.join(unknown)}”. Use one of: {allowed}."
            }
        if not unknown:
            return ", ".join(normalised), {}
    elif field == "country" and operator != Operator.CONTAINS:
        bad = [part for part in values if not (len(part) == 2 and part.isalpha())]
        if bad:
            return value, {"value": f"Countries are two-letter ISO codes (DE, US, GB): “{', '.join(bad)}” is not one."}
        return ", ".join(part.upper() for part in values), {}
    return value, {}


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


class RuleCondition(models.Model):
    """ "when <fact> <operator> <value>": the one condition language of scoring and routing rules.

    qualification.rules.condition_matches decides whether a condition holds for a lead's facts.
    """

    Operator = Operator
    NUMERIC_OPERATORS = NUMERIC_OPERATORS
    LIST_OPERATORS = LIST_OPERATORS
    VALUELESS_OPERATORS = VALUELESS_OPERATORS

    field = models.CharField(max_length=50, choices=RULE_FIELDS)
    operator = models.CharField(max_length=10, choices=Operator.choices, default=Operator.EQUALS)
    value = models.CharField(
        max_length=500,
        blank=True,
        help_text="A number for ≥ ≤ > <; comma-separated values for “is one of”; empty for “is set” / “is empty”.",
    )

    class Meta:
        abstract = True

    def values(self) -> list[str]:
        """The rule's value(s), stripped; one entry unless the operator takes a list."""
        return condition_values(operator=self.operator, value=self.value)

    def describe(self) -> str:
        """ "company size ≥ 20", "visitor type is one of student, job_seeker"."""
        label = dict(RULE_FIELDS).get(self.field, self.field).split(" (")[0].lower()
        operator = Operator(self.operator).label if self.operator in Operator.values else self.operator
        return " ".join(part for part in (label, operator, ", ".join(self.values())) if part)

    def condition_errors(self) -> dict[str, str]:
        """Validate the condition (normalising the stored value); errors by form field."""
        self.value, errors = condition_clean(field=self.field, operator=self.operator, value=self.value)
        return errors


class QualificationRule(RuleCondition):
    """One marketing-editable rule: "when <lead field> <operator> <value>, <effect>"."""

    class Effect(models.TextChoices):
        POINTS = "points", "add points"
        KNOCKOUT = "knockout", "knockout → disqualified"
        NURTURE = "nurture", "nurture → at most nurture"

    effect = models.CharField(max_length=10, choices=Effect.choices, default=Effect.POINTS)
    points = models.IntegerField(default=0, help_text="Added to the score when the rule matches; may be negative.")
    reason_text = models.CharField(
        max_length=200,
        blank=True,
        help_text="What sales sees when the rule matches, e.g. “company size ≥ 20”. Filled in when left empty.",
    )
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100, help_text="Rules run and are listed in this order.")

    class Meta:
        ordering = ("order", "id")

    def __str__(self) -> str:
        return self.reason_text or self.describe()

    def clean(self) -> None:
        errors = self.condition_errors()
        if self.effect == self.Effect.POINTS and self.points == 0:
            errors.setdefault("points", "An “add points” rule needs points (positive or negative).")
        elif self.effect != self.Effect.POINTS and self.points != 0:
            errors.setdefault("points", f"A {self.get_effect_display()} rule has no points; set 0 or use “add points”.")
        if errors:
            raise ValidationError(errors)
        if not self.reason_text.strip():
            self.reason_text = self.describe()

    def as_snapshot(self) -> dict:
        """Everything that decides what the rule does; hashed into the rule-set version."""
        return {
            "id": self.pk,
            "field": self.field,
            "operator": self.operator,
            "value": self.value,
            "effect": self.effect,
            "points": self.points,
            "reason_text": self.reason_text,
        }


class ScoringPolicy(models.Model):
    """The one scoring policy (a singleton, pk 1): how many points qualify a lead."""

    qualify_at = models.IntegerField(
        default=50, help_text="A lead with no knockout and no nurture rule qualifies at this many points or more."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "scoring policy"

    def __str__(self) -> str:
        return f"Qualify at {self.qualify_at} points"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # a singleton: every save edits the one policy
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "ScoringPolicy":
        """The stored policy, or the unsaved default when none exists (reading never writes)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class RuleSetVersion(models.Model):
    """The rules and threshold behind one version hash, kept so any past decision can be explained."""

    version = models.CharField(max_length=64, unique=True)
    rules = models.JSONField(default=list)
    qualify_at = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.version


class LeadDecision(models.Model):
    """Every decision ever made on a lead; the Lead's score/outcome/reasons are the latest of these."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="decisions")
    score = models.IntegerField()
    outcome = models.CharField(max_length=20, choices=Lead.Outcome.choices)
    reasons = models.JSONField(default=list)
    rule_set_version = models.CharField(max_length=64)
    decided_at = models.DateTimeField()
    trigger = models.CharField(max_length=100, blank=True, help_text="What asked for it: the bot, or an admin re-score")

    class Meta:
        ordering = ("-decided_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.score}) at {self.decided_at:%Y-%m-%d %H:%M} UTC"
