from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("tickets/", views.MyTicketsView.as_view(), name="my_tickets"),
    path("raise/", views.RaiseTicketView.as_view(), name="raise_ticket"),
    path(
        "raise/subcategories/",
        views.SubcategoryOptionsView.as_view(),
        name="subcategory_options",
    ),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("incidents/<int:pk>/reply/", views.IncidentReplyView.as_view(), name="incident_reply"),
    path("incidents/<int:pk>/attach/", views.IncidentAttachView.as_view(), name="incident_attach"),
    path(
        "incidents/<int:pk>/confirm/",
        views.IncidentConfirmView.as_view(),
        name="incident_confirm",
    ),
    path("incidents/<int:pk>/reject/", views.IncidentRejectView.as_view(), name="incident_reject"),
    path("incidents/<int:pk>/rate/", views.IncidentRateView.as_view(), name="incident_rate"),
    path("knowledge/", views.KnowledgeSearchView.as_view(), name="knowledge"),
]
