"""The OpenAPI schema and the offline Swagger UI."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.relations import RelatedField

from incidents.api import examples as ex
from incidents.api import serializers as s


def test_schema_generation_has_no_warnings_and_validates(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning (untyped field, unknown
    # serializer, ...) into a failure, so new endpoints must be annotated properly.
    out = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert "openapi: 3" in out.read_text()


def _api_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry, route)
        elif isinstance(entry, URLPattern) and route.lstrip("^").startswith("api/v1/"):
            yield route, entry


def _openapi_path(route: str) -> str:
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    return "/" + path.replace("{pk}", "{id}")


def test_every_api_endpoint_is_in_the_schema(api_client, db):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    undocumented_on_purpose = {"/api/v1/schema/", "/api/v1/docs/"}

    missing = [
        _openapi_path(route)
        for route, _entry in _api_routes()
        if _openapi_path(route) not in schema["paths"]
        and _openapi_path(route) not in undocumented_on_purpose
    ]

    assert missing == []


def test_custom_actions_declare_request_and_error_responses(api_client, db):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    login = schema["paths"]["/api/v1/auth/token/"]["post"]
    revoke = schema["paths"]["/api/v1/accounts/tokens/{id}/revoke/"]["post"]

    assert "requestBody" in login
    assert {"201", "400", "429"} <= set(login["responses"])
    assert {"200", "404", "409"} <= set(revoke["responses"])
    assert "requestBody" not in revoke
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_docs_page_loads_only_static_assets_and_nothing_inline(client, db):
    response = client.get("/api/v1/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert all(u.startswith("/static/") or u.startswith("/api/v1/docs/?") for u in urls), urls
    assert scripts[-1] == "/api/v1/docs/?script="
    assert "<script>" not in html
    assert "<style" not in html
    assert " style=" not in html


def test_docs_page_is_served_under_the_strict_csp(client, db):
    response = client.get("/api/v1/docs/")

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_docs_init_script_is_same_origin_javascript(client, db):
    response = client.get("/api/v1/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert '"/api/v1/schema/"' in response.content.decode()


def test_static_assets_of_the_docs_page_exist(client, db):
    html = client.get("/api/v1/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)

    assert len(assets) == 4
    assert [a for a in assets if finders.find(a) is None] == []


@pytest.mark.browser
def test_swagger_ui_renders_in_a_real_browser_without_csp_violations(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    violations, failed = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(f"{live_server.url}/api/v1/docs/")

        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
        page.wait_for_selector(".opblock-tag", timeout=15000)
        title = page.inner_text(".swagger-ui .info .title")
        browser.close()

    assert title.startswith("ITSM API")
    assert violations == []
    assert failed == []


def _operations(schema, prefix):
    for path, operations in schema["paths"].items():
        if path.startswith(prefix):
            for method, operation in operations.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield f"{method.upper()} {path}", operation


def _examples(content: dict, media_type: str = "application/json") -> dict:
    return (content.get(media_type) or {}).get("examples") or {}


def test_every_incident_endpoint_shows_examples_of_its_input_and_its_answers(api_client, db):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    missing = []
    for name, operation in _operations(schema, "/api/v1/incidents/"):
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body and not _examples(body):
            missing.append(f"{name}: input")
        for code, answer in operation["responses"].items():
            if answer.get("content") and not _examples(answer["content"]):
                missing.append(f"{name}: {code} answer")

    assert len(list(_operations(schema, "/api/v1/incidents/"))) > 20
    assert missing == []


def test_the_incident_examples_have_the_fields_of_their_serializers():
    pairs = [
        (s.IncidentSerializer, ex.INCIDENT),
        (s.IncidentSerializer, ex.INCIDENT_LOGGED),
        (s.IncidentSerializer, ex.INCIDENT_RESOLVED),
        (s.IncidentCustomerSerializer, ex.INCIDENT_CUSTOMER),
        (s.CommentSerializer, ex.COMMENT),
        (s.AttachmentSerializer, ex.ATTACHMENT),
        (s.TimelineEntrySerializer, ex.TIMELINE_ENTRY),
        (s.MajorIncidentUpdateSerializer, ex.MAJOR_UPDATE),
        (s.SatisfactionRatingSerializer, ex.RATING),
        (s.IncidentAffectedSerializer, ex.AFFECTED),
    ]
    for serializer_class, example in pairs:
        assert list(example) == list(serializer_class().fields), serializer_class.__name__


def test_the_incident_input_examples_are_valid_input(db):
    """Each input example passes its serializer's own checks, references aside (the
    example's ids name rows of no particular database)."""
    inputs = [
        s.IncidentUpdateInputSerializer,
        s.VersionInputSerializer,
        s.AssignInputSerializer,
        s.PendInputSerializer,
        s.ReasonInputSerializer,
        s.RateInputSerializer,
        s.DeclareMajorInputSerializer,
        s.MajorIncidentUpdateInputSerializer,
        s.CommentInputSerializer,
    ]
    for serializer_class in inputs:
        examples = serializer_class._spectacular_annotation["examples"]
        assert examples, serializer_class.__name__
        for example in examples:
            serializer = serializer_class(data=example.value)
            serializer.is_valid()
            errors = {
                name: error
                for name, error in serializer.errors.items()
                if not isinstance(serializer.fields[name], RelatedField)
            }
            assert errors == {}, (serializer_class.__name__, errors)
            assert set(example.value) <= set(serializer.fields)
