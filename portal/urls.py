from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("tickets/", views.MyTicketsView.as_view(), name="my_tickets"),
    path("tickets/new/", views.RaiseTicketView.as_view(), name="raise_ticket"),
    path("knowledge/", views.KnowledgeSearchView.as_view(), name="knowledge"),
]
