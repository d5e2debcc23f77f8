from django.urls import path

from chatbot import views

# The Rasa action webhook (/bot/actions/) is routed in config/asgi.py.
urlpatterns = [
    path("", views.demo_page, name="demo"),
    path("widget.js", views.widget_script, name="widget_script"),
    # Where the script was a static file: pages embedded with that address keep working.
    path("static/chatbot/widget.js", views.widget_script),
    path("widget/<str:embed_key>/config.json", views.widget_config, name="widget_config"),
]
