from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("inbox/", include("inbox.urls")),
    path("", include("scheduling.urls")),
    path("", include("chatbot.urls")),
]
