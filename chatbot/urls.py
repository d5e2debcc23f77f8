from django.urls import path

from chatbot import action_server, views

urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("bot/actions/", action_server.action_webhook, name="rasa-actions"),
]
