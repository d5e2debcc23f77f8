import os

from django.core.asgi import get_asgi_application

# Production unless told otherwise: unconfigured, it refuses to start and says what is missing
# (`make run` and the tests name their settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from chatbot.abuse import WebSocketGuard  # noqa: E402
from chatbot.action_server import ActionWebhookConsumer, action_executor  # noqa: E402
from chatbot.routing import websocket_urlpatterns  # noqa: E402
from inbox.routing import websocket_urlpatterns as inbox_websocket_urlpatterns  # noqa: E402

# Import and register the bot's actions now: the first action call Rasa made used to
# do it on the event loop (~0.3 s), holding up every conversation of a burst of first turns.
action_executor()

# No AllowedHostsOriginValidator: the widget runs on customers' own domains, so
# the consumer checks each Origin against the embedding Site's own allowlist.
application = ProtocolTypeRouter(
    {
        "http": URLRouter(
            [
                path("bot/actions/", ActionWebhookConsumer.as_asgi()),
                re_path(r"", django_asgi_app),
            ]
        ),
        "websocket": WebSocketGuard(URLRouter(websocket_urlpatterns + inbox_websocket_urlpatterns)),
    }
)
