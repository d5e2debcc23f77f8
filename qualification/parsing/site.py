"""What one customer's site tells the parsers: the name visitors call it by, and its competitors.

Edited per site in admin (chatbot.Site `product_name` and `competitors`); the bot's actions pass
the conversation's site (`SiteTerms.for_site`). With no site, no name and no competitor is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteTerms:
    product_name: str = ""  # "Northwind": "a job at Northwind", "we already use Northwind"
    competitors: frozenset[str] = frozenset()  # lower-case names: "clari", "people.ai"

    @classmethod
    def of(cls, *, product_name: str = "", competitors: Iterable[str] = ()) -> SiteTerms:
        names = frozenset(" ".join(name.lower().split()) for name in competitors if name.strip())
        return cls(product_name=" ".join(product_name.split()), competitors=names)

    @classmethod
    def for_site(cls, site) -> SiteTerms:
        """A chatbot.Site's settings (None: no site, nothing known)."""
        if site is None:
            return NO_SITE
        return cls.of(product_name=site.product_name, competitors=site.competitor_list())


NO_SITE = SiteTerms()


def name_pattern(name: str) -> str:
    """A regex for a name as typed in any case and spacing ("Northwind  Pipeline")."""
    return r"\s+".join(re.escape(word) for word in name.lower().split())
