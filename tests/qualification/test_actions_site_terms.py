"""The qualification form reads a message with its own site's terms (Site.product_name, Site.competitors)."""

import pytest

from qualification import actions
from tests.factories import ConversationFactory, SiteFactory
from tests.qualification.test_actions import lead_of, run, slot_events, tracker

pytestmark = pytest.mark.django_db(transaction=True)
validate = actions.ValidateQualificationForm()


@pytest.mark.parametrize(
    ("competitors", "visitor_type"),
    [("Clari\nGong", "competitor"), ("", "prospect")],
)
async def test_a_company_is_a_competitor_only_on_the_site_that_names_it(transactional_db, competitors, visitor_type):
    site = await actions.db(SiteFactory)(competitors=competitors)
    conversation = await actions.db(ConversationFactory)(site=site)
    events, _ = await run(validate, tracker(conversation, "Head of Sales at Gong", active=False))
    assert slot_events(events)["visitor_type"] == visitor_type
    assert (await actions.db(lead_of)(conversation)).visitor_type == visitor_type


async def test_the_sites_own_name_marks_a_job_seeker(transactional_db):
    site = await actions.db(SiteFactory)(product_name="Brightpath")
    conversation = await actions.db(ConversationFactory)(site=site)
    events, _ = await run(
        validate, tracker(conversation, "I'd love to work at Brightpath", "job_seeking", active=False)
    )
    assert slot_events(events)["visitor_type"] == "job_seeker"
