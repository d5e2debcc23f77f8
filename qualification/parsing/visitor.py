"""Who the visitor is, by the words they use: a job seeker, a vendor, a competitor, a customer.

Two of these name the site's own product ("work at Northwind", "we already use Northwind"): they
are built per site from `SiteTerms.product_name` (and cached), so no customer's name lives in code.
"""

from __future__ import annotations

import functools
import re

from qualification.parsing.site import name_pattern


def _us(product_name: str) -> str:
    """ "you" or the site's own name, as a regex alternation."""
    return "|".join(["you", *([name_pattern(product_name)] if product_name.strip() else [])])


@functools.lru_cache(maxsize=128)
def job_words(product_name: str = "") -> re.Pattern:
    """The NLU's "job seeker" counts only with words only they would use (a name or a company typed as
    an answer must not disqualify anyone)."""
    return re.compile(
        r"\b(?:jobs?|careers?|hiring|hire me|vacanc\w*|positions?|openings?|apply|applying|application|resume|cv|"
        r"intern(?:ship)?s?|recruit\w*|employment|join (?:your|the) team|work (?:for|at|with) (?:"
        + _us(product_name)
        + r"))\b",
        re.I,
    )


@functools.lru_cache(maxsize=128)
def existing_customer(product_name: str = "") -> re.Pattern:
    """ "We already use Northwind", "our Northwind subscription has…": a customer, not a buyer."""
    own = name_pattern(product_name) if product_name.strip() else ""
    product = rf"(?:{own}|your (?:product|tool))" if own else r"(?:your (?:product|tool))"
    our = rf"our (?:{own} )?" if own else "our "
    return re.compile(
        r"\b(already a customer|existing customer|current customer|already (?:use|using|pay for) "
        + product
        + r"|we(?:'re| are) (?:a )?customers?(?: of yours)?|"
        + our
        + r"(?:account|subscription|license) (?:is|has))\b",
        re.I,
    )


# With no site named: the same words, less the site's own name.
JOB_WORDS = job_words()
EXISTING_CUSTOMER = existing_customer()
VENDOR_WORDS = re.compile(
    r"\b(?:our (?:agency|services?|company|platform|solution|product|team|firm)|we (?:offer|provide|help|specialize|"
    r"specialise|build|sell|can help)|partner(?:ship)?s?|proposal|pitch|outsourc\w*|lead gen\w*|seo|vendor|reseller|"
    r"agency|collaborat\w*|white[- ]label|affiliate)\b",
    re.I,
)
# The NLU's "support request" counts only with words a customer with a problem would use ("I own sales
# and account management" is a title, not a ticket).
SUPPORT_WORDS = re.compile(
    r"\b(?:support|help ?desk|log ?in|login|logged|password|invoices?|billing|billed|charged|refund|bug|broken|"
    r"not working|doesn'?t work|isn'?t working|stopped|errors?|sync\w*|ticket|disconnected|outage|down|"
    r"our (?:account|subscription|plan|seats?|licen[cs]es?|instance|admin)|my (?:account|subscription|login))\b",
    re.I,
)
# What only someone looking for a job says, whatever the NLU made of it.
JOB_SELF = re.compile(
    r"\b(?:(?:are|if|whether) you(?:'re| are)? (?:still )?hiring|between jobs|(?:looking for|need) (?:a |some )?"
    r"(?:job|work|new role|position)\b(?! (?:title|description)s?)|(?:send|share) (?:you )?my (?:cv|resume)|"
    r"(?:open|any) (?:positions|roles|vacancies|job openings)|apply (?:for|to) (?:a |the |your )?(?:job|role|position))",
    re.I,
)
# What only someone selling to us says, whatever the NLU made of it.
PITCH = re.compile(
    r"\b(?:(?:can|could|may) i send (?:you |over )?(?:a |our |my )?(?:deck|proposal|case stud\w*|portfolio)|"
    r"we (?:help|work with) (?:companies|teams|startups|saas (?:companies|teams)) like yours|"
    r"right person to (?:speak|talk) (?:to|with) about (?:a |our )?(?:partnership|pilot|our services))\b",
    re.I,
)
# Saying you work for a competitor, without naming one we know.
COMPETITOR_SELF = re.compile(
    r"\b(?:(?:i work|i'?m|i am|we are|we'?re)\s+(?:at|for|with|from)\s+(?:a |an )?(?:[\w-]+ ){0,3}?"
    r"(?:competitor|competing)\b|"
    r"(?:i|we) (?:work (?:at|for)|am with|are) (?:a )?(?:competitor|competing (?:company|vendor|product))|"
    r"(?:from|at|with) a competitor|we(?:'re| are) (?:a )?competitors?|we (?:build|sell|make) (?:a )?(?:similar|competing) "
    r"(?:product|tool)|competitive (?:research|intel(?:ligence)?|analysis)|"
    # "we make forecasting software too", "we also sell a pipeline analytics tool"
    r"we (?:also )?(?:build|sell|make|offer|have) (?:a |an |our own )?(?:[\w-]+ ){0,3}?"
    r"(?:software|tool|platform|product)s?(?: \w+)? (?:too|as well)|we also (?:build|sell|make) (?:[\w-]+ ){0,3}?"
    r"(?:software|tools?|platforms?|products?))\b",
    re.I,
)
