"""Reads for the qualification conversation."""

from chatbot.models import Site
from qualification.parsing import SiteTerms


def site_terms_for_conversation(*, public_id: str) -> SiteTerms:
    """What the parsers must know of the conversation's site: its product name and its competitors (admin)."""
    site = Site.objects.filter(conversations__public_id=public_id).only("product_name", "competitors").first()
    return SiteTerms.for_site(site)
