"""Examples of the incident API's answers and inputs for the OpenAPI schema.

They are attached to the serializers (`extend_schema_serializer`), so every endpoint that
answers or accepts a serializer shows its example; an endpoint may add its own
(`extend_schema(examples=...)`). The values are shaped like real answers: tests compare
each example's keys with its serializer's fields.
"""

from drf_spectacular.utils import OpenApiExample

AGENT = {"id": 3, "username": "sam.taylor", "name": "Sam Taylor"}
CALLER = {"id": 11, "username": "li.wei", "name": "Li Wei"}

INCIDENT_CUSTOMER = {
    "id": 42,
    "number": "INC0000042",
    "url": "https://itsm.example.com/api/v1/incidents/42/",
    "title": "Cannot print invoices",
    "description": "Printer on floor 3 shows *offline* since 9:00.",
    "description_html": "<p>Printer on floor 3 shows <em>offline</em> since 9:00.</p>",
    "status": "in_progress",
    "status_label": "In progress",
    "caller": CALLER,
    "organisation": {"id": 2, "name": "Bluebird Logistics", "code": "bluebird"},
    "channel": "phone",
    "service": {"id": 17, "name": "Printing"},
    "category": {"id": 6, "name": "Hardware"},
    "subcategory": {"id": 9, "name": "Printer"},
    "impact": 2,
    "urgency": 1,
    "priority": 2,
    "assignment_group": {"id": 4, "name": "Desktop Support"},
    "assigned_at": "2026-11-02T09:04:11Z",
    "first_response_at": "2026-11-02T09:12:40Z",
    "resolved_at": None,
    "closed_at": None,
    "created_at": "2026-11-02T09:03:52Z",
    "updated_at": "2026-11-02T09:12:40Z",
    "pending_reason": "",
    "resolution_code": "",
    "resolution_notes": "",
    "reopen_count": 0,
    "is_major": False,
    "version": 3,
    "available_transitions": ["pend", "resolve", "cancel"],
}
INCIDENT = {
    **INCIDENT_CUSTOMER,
    "assignee": AGENT,
    "watchers": [{"id": 5, "username": "mei.chen", "name": "Mei Chen"}],
    "configuration_items": [{"id": 233, "name": "PRN-F3-01"}],
    "parent": None,
    "major_incident_manager": None,
    "created_by": AGENT,
    "cancel_reason": "",
}
INCIDENT_LOGGED = {
    **INCIDENT,
    "status": "assigned",
    "status_label": "Assigned",
    "assignee": None,
    "watchers": [],
    "first_response_at": None,
    "updated_at": INCIDENT["created_at"],
    "version": 1,
    "available_transitions": ["assign", "resolve"],
}
INCIDENT_RESOLVED = {
    **INCIDENT,
    "status": "resolved",
    "status_label": "Resolved",
    "resolved_at": "2026-11-02T10:41:07Z",
    "updated_at": "2026-11-02T10:41:07Z",
    "resolution_code": "solved_workaround",
    "resolution_notes": "Restarted the print spooler; the driver update is planned.",
    "version": 4,
    "available_transitions": ["close", "reopen"],
}
AFFECTED = {
    "services": [{"id": 17, "name": "Printing"}, {"id": 21, "name": "Order to cash (ERP)"}],
    "organisations": [
        {"id": 2, "name": "Bluebird Logistics", "code": "bluebird"},
        {"id": 5, "name": "上海明珠零售有限公司", "code": "mingzhu"},
    ],
}
COMMENT = {
    "id": 310,
    "body": "Driver reinstalled; please try printing again.",
    "body_html": "<p>Driver reinstalled; please try printing again.</p>",
    "visibility": "public",
    "author": AGENT,
    "created_at": "2026-11-02T09:12:40Z",
}
ATTACHMENT = {
    "id": 77,
    "name": "printer-error.png",
    "size": 48213,
    "mime_type": "image/png",
    "is_public": True,
    "uploaded_by": CALLER,
    "uploaded_at": "2026-11-02T09:05:03Z",
    "download_url": "https://itsm.example.com/attachments/77/",
}
TIMELINE_ENTRY = {
    "kind": "event",
    "at": "2026-11-02T09:04:11Z",
    "actor": AGENT,
    "item": {
        "id": 1662,
        "event_type": "assigned",
        "label": "Assigned",
        "data": {"group": "Desktop Support", "assignee": "Sam Taylor"},
    },
}
MAJOR_UPDATE = {
    "id": 12,
    "body": "Payments are failing for all customers; a fix is being deployed.",
    "is_sent_to_customers": True,
    "author": AGENT,
    "created_at": "2026-11-02T10:30:00Z",
}
RATING = {
    "id": 8,
    "score": 5,
    "comment": "Fixed within the hour, thank you.",
    "rated_by": CALLER,
    "created_at": "2026-11-02T11:02:19Z",
}


STALE = (
    "Someone else changed this incident in the meantime (version 4, yours 3). Reload it and "
    "apply your change again."
)
ERRORS = {
    400: ("A field missing", "invalid", "Invalid input.", {"title": ["This field is required."]}),
    401: (
        "No token",
        "not_authenticated",
        "Authentication credentials were not provided.",
        {},
    ),
    403: (
        "Not allowed",
        "permission_denied",
        "You do not have permission to perform this action.",
        {},
    ),
    404: ("Not found", "not_found", "Not found.", {}),
    409: (
        "Illegal transition",
        "illegal_transition",
        "An incident in state “Closed” cannot do “Resolve”.",
        {},
    ),
    412: ("Stale If-Match", "stale_version", STALE, {}),
}


def error(status: int) -> OpenApiExample:
    """The example of an error answer (core.api.exceptions' shape) with that status."""
    name, code, detail, fields = ERRORS[status]
    return answer(name, {"code": code, "detail": detail, "fields": fields})


def answer(name: str, value: dict) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True)


def given(name: str, value: dict) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)
