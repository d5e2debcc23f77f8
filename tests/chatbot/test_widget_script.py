"""The widget script as served: the source with the words of templates/chatbot/widget_words.txt put in,
escaped for JavaScript, cacheable and revalidated by its ETag."""

import gzip
import json
import re

import pytest
from django.conf import settings as django_settings

from chatbot import widget
from tests.conftest import chat_communicator
from tests.factories import SiteFactory, acreate

pytestmark = pytest.mark.django_db

# Everything that could end a string, a script element or a line in JavaScript or HTML.
NASTY = 'Say "hi" \\ it\'s </script><script>alert(1)</script> <!-- a\u2028b\u2029c & d > e'


def template_words(words: dict[str, str]) -> str:
    branches = "".join(f'{{% elif word == "{key}" %}}{text}\n' for key, text in words.items())
    return "{% autoescape off %}{% if False %}" + branches + "{% endif %}{% endautoescape %}"


@pytest.fixture
def words_template(settings, tmp_path):
    """Put a widget_words.txt of the test's own before the project's templates."""

    def use(words: dict[str, str]) -> None:
        (tmp_path / "chatbot").mkdir(exist_ok=True)
        (tmp_path / "chatbot" / "widget_words.txt").write_text(template_words(words))
        settings.TEMPLATES = [
            {**django_settings.TEMPLATES[0], "DIRS": [tmp_path, *django_settings.TEMPLATES[0]["DIRS"]]}
        ]

    return use


def served_words(body: bytes) -> dict[str, str]:
    """The words object in the served script, read back as JSON (what JavaScript reads too)."""
    match = re.search(r"var T = (\{.*?\});\n", body.decode())
    assert match, "no words in the script"
    return json.loads(match.group(1))


def test_the_script_carries_every_word_of_the_template(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    words = served_words(response.content)
    assert words == widget.widget_words()
    assert words["open"] == "Open chat" and words["person"] == "Talk to a person"
    assert all(words.values()), words
    assert widget.WORDS_MARKER.encode() not in response.content


def test_every_word_the_script_uses_is_in_the_template_and_no_other():
    used = set(re.findall(r"\bT\.(\w+)", widget.SOURCE.read_text()))
    assert used == set(widget.WORDS)


def test_a_word_edited_in_the_template_is_what_the_script_says(client, words_template):
    before = client.get("/widget.js")
    words_template({**widget.widget_words(), "open": "Chat öffnen", "person": "Mit einem Menschen sprechen"})
    after = client.get("/widget.js")
    assert served_words(after.content)["open"] == "Chat öffnen"
    assert served_words(after.content)["person"] == "Mit einem Menschen sprechen"
    assert after["ETag"] != before["ETag"]


def test_any_character_in_a_word_is_escaped_for_javascript_and_html(client, words_template):
    words_template({**widget.widget_words(), "open": NASTY})
    body = client.get("/widget.js").content.decode()
    assert served_words(body.encode())["open"] == NASTY
    literal = re.search(r"var T = (\{.*?\});\n", body).group(1)
    # Nothing in the words can close or open an element or comment, or break a line of an old engine.
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in literal, raw
    # Nor can the rest of the script: it may be pasted into an inline <script> element.
    assert "</script" not in body.lower() and "<!--" not in body


def test_the_script_is_cacheable_and_revalidated_with_its_etag(client):
    response = client.get("/widget.js")
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["ETag"].startswith('"')
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")
    again = client.get("/widget.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == response["ETag"] and again["Cache-Control"] == response["Cache-Control"]
    assert client.get("/widget.js", HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_the_script_is_gzipped_for_browsers_that_take_it_and_still_revalidates(client):
    response = client.get("/widget.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert gzip.decompress(response.content) == widget.widget_script().body
    assert client.get("/widget.js", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_the_old_static_address_serves_the_same_script(client):
    old = client.get("/static/chatbot/widget.js")
    assert old.status_code == 200 and old.content == client.get("/widget.js").content


def test_the_demo_page_embeds_the_served_script(client):
    SiteFactory(name="Demo: Northwind Pipeline", allowed_origins="http://testserver")
    assert b'<script src="/widget.js" data-site="' in client.get("/").content


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("offered", [True, False])
async def test_the_session_frame_says_whether_to_offer_talk_to_a_person(offered):
    site = await acreate(SiteFactory, offer_person_button=offered)
    communicator = chat_communicator()
    assert (await communicator.connect())[0]
    try:
        await communicator.send_json_to({"type": "start", "site": site.embed_key, "visitor": None})
        session = await communicator.receive_json_from(timeout=5)
        assert session["type"] == "session" and session["person_button"] is offered
    finally:
        await communicator.disconnect()
