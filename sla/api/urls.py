from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "sla-api"

router = SimpleRouter()
router.register("agreements", views.AgreementViewSet, basename="agreement")
router.register("targets", views.TargetViewSet, basename="target")
router.register("calendars", views.BusinessCalendarViewSet, basename="calendar")
router.register("calendar-days", views.CalendarDayViewSet, basename="calendar-day")
router.register("outages", views.ServiceOutageViewSet, basename="outage")
router.register("clocks", views.ClockViewSet, basename="clock")

urlpatterns = [
    *router.urls,
    path("attainment/", views.AttainmentView.as_view(), name="attainment"),
]
