import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from chatbot.action_server import ActionWebhookConsumer  # noqa: E402
from chatbot.routing import websocket_urlpatterns  # noqa: E402

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
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
