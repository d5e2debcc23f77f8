from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@staff_member_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    """The reps' live inbox; everything on it comes over its socket (inbox/consumers.py)."""
    return render(request, "inbox/inbox.html")
