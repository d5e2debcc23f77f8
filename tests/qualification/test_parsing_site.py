"""The parsers' per-site terms (product name, competitors) and the paths kept libraries now read."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from qualification import parsing

TODAY = dt.date(2026, 11, 25)
DEMO = parsing.SiteTerms.of(product_name="Northwind", competitors=["Clari", "Gong", "People.ai", "Sales Loft"])
LOOKUPS = Path(__file__).resolve().parents[2] / "chatbot/bot/data/nlu/lookups.yml"


def facts(text, intent="inform", site=parsing.NO_SITE, requested=None):
    return parsing.facts_from_message(
        text=text, intent=intent, entities=[], requested=requested, known={}, today=TODAY, site=site
    ).facts


# ---- the site's competitors and product name


def test_competitors_are_the_sites_not_a_list_in_code():
    assert parsing.visitor_type_for_company("Clari") == ""
    assert parsing.visitor_type_for_company("Clari", DEMO.competitors) == "competitor"
    assert parsing.visitor_type_for_company("Gong Inc", DEMO.competitors) == "competitor"
    assert parsing.visitor_type_for_company("sales  loft", DEMO.competitors) == "competitor"  # several words
    assert parsing.visitor_type_for_company("Clarity Labs", DEMO.competitors) == ""  # not a word of the name
    assert parsing.visitor_type_for_company("clari.com", DEMO.competitors) == "competitor"  # a work address's
    assert parsing.visitor_type_for_company("People.ai", DEMO.competitors) == "competitor"  # a dot in the name


def test_a_visitor_from_a_competitor_of_this_site_is_a_competitor():
    assert facts("I'm Head of Sales at Gong", site=DEMO)["visitor_type"] == "competitor"
    assert facts("I'm Head of Sales at Gong")["visitor_type"] == "prospect"  # another site: Gong is anyone


def test_naming_a_competitor_of_this_site_is_stating_a_fact_not_off_topic():
    assert parsing.states_facts("we're from Gong", site=DEMO)
    assert not parsing.states_facts("we're from Gong")  # on another site, a company name alone says little


def test_a_work_address_at_a_competitor_of_this_site_is_a_competitor():
    assert facts("sam@eu.gong.io", requested="email", site=DEMO)["visitor_type"] == "competitor"
    assert facts("sam@eu.gong.io", requested="email")["company_name"] == "gong.io"


def test_working_at_the_sites_own_product_is_a_job_seekers_words():
    text = "I'd love to work at Northwind"
    assert facts(text, "job_seeking", site=DEMO)["visitor_type"] == "job_seeker"
    assert facts(text, "job_seeking")["visitor_type"] == "prospect"
    other = parsing.SiteTerms.of(product_name="Acme Forecast")
    assert facts("keen to work at acme  forecast", "job_seeking", site=other)["visitor_type"] == "job_seeker"


def test_using_the_sites_own_product_already_makes_a_customer():
    assert facts("we already use Northwind and need more seats", site=DEMO)["visitor_type"] == "customer"
    assert facts("our northwind subscription has expired", site=DEMO)["visitor_type"] == "customer"
    assert facts("we already use your tool")["visitor_type"] == "customer"  # with or without a name
    assert facts("we already use Northwind and need more seats")["visitor_type"] == "prospect"


def test_site_terms_are_read_from_a_site():
    class Site:
        product_name = "  Northwind  Pipeline "
        competitors = "Clari\n\n  Gong \n"

        def competitor_list(self):
            return [line.strip() for line in self.competitors.splitlines() if line.strip()]

    terms = parsing.SiteTerms.for_site(Site())
    assert terms == parsing.SiteTerms("Northwind Pipeline", frozenset({"clari", "gong"}))
    assert parsing.SiteTerms.for_site(None) == parsing.NO_SITE


# ---- dates by dateparser


@pytest.mark.parametrize(
    ("text", "months", "stage"),
    [
        ("by 15 March 2027", 4, "planning"),
        ("before 2027-03-01", 4, "planning"),
        ("go live by 03/15/2027", 4, "planning"),
        ("March 2030", 40, "future"),  # the year counts (it used to be read as the next March)
        ("we may need it by June", 7, "future"),  # "may" the verb is no month; June still is
        ("by November", 0, "immediate"),  # this month, not next year's
        ("next November", 12, "future"),
        ("by June 2026", 7, "future"),  # a month already past reads as its next return
    ],
)
def test_calendar_dates_are_read_by_dateparser(text, months, stage):
    assert parsing.parse_timeline(text, today=TODAY) == parsing.Timeline(months, stage)


def test_may_the_verb_is_no_date():
    assert parsing.parse_timeline("we may need it", today=TODAY) is None


# ---- one number-word table


def test_one_table_of_number_words_serves_sizes_and_timelines():
    assert parsing.word_number("eighteen") == parsing.NUMBER_WORDS["eighteen"] == 18
    assert parsing.word_number("a couple of") == 2 and parsing.word_number("an") == 1
    assert parsing.word_number("next") is None
    assert parsing.parse_timeline("within ten months", today=TODAY) == parsing.Timeline(10, "future")
    assert parsing.parse_company_size("sixteen", asked=True).value == 16
    assert parsing.parse_company_size("several", asked=True).value == parsing.VAGUE["several"]
    assert parsing.parse_timeline("in several months", today=TODAY).months == parsing.VAGUE["several"]


# ---- amounts by price-parser


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("€15.000", 15000),  # a European thousands separator
        ("1.500 EUR", 1500),
        ("CHF 20000", 20000),  # a currency code price-parser knows
        ("around $20k a year", 20000),
        ("12,500 USD", 12500),
    ],
)
def test_amounts_are_read_by_price_parser(text, amount):
    assert parsing.parse_budget(text, asked=True) == parsing.Budget("range", amount)


def test_a_currency_counts_only_next_to_an_amount_and_as_a_word():
    assert parsing.currency_in("CHF 20000") == "CHF" and parsing.currency_in("20.000 €") == "€"
    assert parsing.currency_in("I don't know 5 of them") is None  # price-parser alone reads "kn" (kuna)
    assert parsing.parse_budget("the CEO keeps asking and I honestly don't know") is None
    # in passing, a currency sign makes a number an amount (a code alone does not: "a 30000 CHF company")
    assert parsing.parse_budget("we could spend ₹300000 on it") == parsing.Budget("range", 300000)
    assert parsing.parse_budget("we could spend CHF 300000 on it") is None


# ---- email by email-validator, one pattern, maintained domain lists


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("josé@bücher.de", "josé@bücher.de"),
        ("o'brien@acme.io", "o'brien@acme.io"),
        ("*dana@acme.io*", "dana@acme.io"),
        ("[dana@acme.io]", "dana@acme.io"),
        ("mail me: <Dana@ACME.io>.", "Dana@acme.io"),
    ],
)
def test_addresses_are_found_by_one_pattern_and_normalised_by_email_validator(text, address):
    assert parsing.parse_email(text).address == address


@pytest.mark.parametrize("text", ["a..b@acme.io", "dana@acme", "dana@foo.test", "dana@-acme.io"])
def test_what_email_validator_refuses_is_no_address(text):
    assert parsing.parse_email(text) is None


@pytest.mark.parametrize(
    ("address", "flag"),
    [
        ("x@outlook.fr", "free_mail"),  # the maintained list knows more providers than ours did
        ("x@proton.me", "free_mail"),
        ("x@yopmail.com", "disposable"),
        ("x@guerrillamail.net", "disposable"),
        ("x@acme.io", ""),
    ],
)
def test_free_and_disposable_domains_come_from_maintained_lists(address, flag):
    assert parsing.email_flag(address) == flag
    assert parsing.parse_email(address).flag == flag


def test_the_nlu_email_regex_is_the_parsers_pattern():
    nlu = yaml.safe_load(LOOKUPS.read_text())["nlu"]
    (entry,) = [item for item in nlu if item.get("regex") == "email"]
    patterns = [line.removeprefix("- ").strip() for line in entry["examples"].splitlines() if line.strip()]
    assert patterns == [parsing.EMAIL_PATTERN]
