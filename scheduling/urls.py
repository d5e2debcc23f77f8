from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("calendar/<str:feed_token>.ics", views.calendar_feed, name="rep_feed"),
    path("meetings/<str:token>/", views.manage, name="manage"),
    path("meetings/<str:token>/reschedule/", views.reschedule, name="reschedule"),
    path("meetings/<str:token>/cancel/", views.cancel, name="cancel"),
]
