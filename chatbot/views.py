from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from chatbot.models import Site

DEMO_SITE_NAME = "Demo: Northwind Pipeline"


def demo_page(request: HttpRequest) -> HttpResponse:
    site = Site.objects.filter(name=DEMO_SITE_NAME, is_active=True).first()
    return render(request, "chatbot/demo.html", {"site": site})
