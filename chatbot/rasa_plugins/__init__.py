"""Code loaded by the Rasa server process, never by Django.

Rasa imports these modules by the names in `chatbot/bot/credentials.yml` and the
endpoints file `manage.py bot_endpoints` writes. They may import `rasa`; they must
not import Django or any app of ours that does.
"""
