from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from inbox.consumers import InboxConsumer

# Staff's own socket, signed in with the session cookie: only pages of this server may open it.
websocket_urlpatterns = [
    path("ws/inbox/", AllowedHostsOriginValidator(AuthMiddlewareStack(InboxConsumer.as_asgi()))),
]
