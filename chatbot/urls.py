from django.urls import path

from chatbot import views

# The Rasa action webhook (/bot/actions/) is routed in config/asgi.py.
urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("widget/<str:embed_key>/config.json", views.widget_config, name="widget_config"),
]
