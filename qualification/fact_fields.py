"""The facts a conversation stores on its Lead, in the order sales reads them.

A plain constant with no Django import, so the bot-evaluation tools (`tests/bot_eval`) can read
it before Django is set up. Admin's facts table, the subject-access export and the evaluation's
checks of what was stored all use this one list.
"""

FACT_FIELDS = (
    "visitor_type",
    "need_text",
    "use_case",
    "company_name",
    "company_size",
    "industry",
    "country",
    "role",
    "authority",
    "buying_stage",
    "timeline_months",
    "budget",
    "budget_amount",
    "name",
    "email",
    "email_flag",
)
