from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_safe

from chatbot import selectors, widget
from chatbot.models import Site
from chatbot.services import origin_normalize

DEMO_SITE_NAME = "Demo: Northwind Pipeline"
WIDGET_CONFIG_MAX_AGE = 60
# Pages everywhere load the script: browsers keep it this long, then ask again with its ETag
# (a 304 without a body unless the script or its words changed).
WIDGET_SCRIPT_MAX_AGE = 300


def demo_page(request: HttpRequest) -> HttpResponse:
    site = Site.objects.filter(name=DEMO_SITE_NAME, is_active=True).first()
    return render(request, "chatbot/demo.html", {"site": site})


@require_safe
@gzip_page
def widget_script(request: HttpRequest) -> HttpResponse:
    """The widget script with its words from the template (chatbot/widget.py): one script for every
    site, so any cache may keep it; it sets no cookie and reads none."""
    script = widget.widget_script()
    etag = quote_etag(script.etag)
    response = HttpResponse(script.body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={WIDGET_SCRIPT_MAX_AGE}"
    return get_conditional_response(request, etag=etag, response=response)


@require_GET
def widget_config(request: HttpRequest, embed_key: str) -> HttpResponse:
    """What the widget shows before the chat starts (the privacy notice), for the site's own pages.

    The widget reads it with a CORS request from the customer's pages: the answer carries
    Access-Control-Allow-Origin only for an origin on the site's allowlist (the same exact match
    as the WebSocket's). A same-origin request (the demo page) sends no Origin and needs none.
    """
    site = Site.objects.filter(embed_key=embed_key[:64], is_active=True).first()
    if site is None:
        return JsonResponse({"code": "unknown_site"}, status=404)
    origin = request.headers.get("Origin", "")
    if origin:
        normalized = origin_normalize(origin)
        if not normalized or normalized not in {origin_normalize(o) for o in site.origin_list()}:
            return JsonResponse({"code": "origin_not_allowed"}, status=403)
    response = JsonResponse(selectors.widget_config(site=site))
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    response["Cache-Control"] = f"public, max-age={WIDGET_CONFIG_MAX_AGE}"
    return response
