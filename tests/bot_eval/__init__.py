"""The conversation simulator: visitor personas played over the widget's WebSocket against the real bot.

- `personas`: loads and validates the persona file (format: chatbot/bot/tests/personas.yml);
- `player`: what a persona answers to a bot turn (pure rules), and the WebSocket driver that plays it;
- `metrics`: right outcome, turns to a booking, dead ends, verbatim repeats and re-asked facts, per
  persona and in total, compared with the targets of issue 11;
- `transcript`: the record of one played conversation and its readable text;
- `__main__`: `make bot-eval` (starts the real web and Rasa servers on a scratch database).

The simulator is a measuring instrument: deterministic, no language model, and it reads the
outcome from what the product stored (Lead, Meeting, Conversation), never from what the bot said.
"""
