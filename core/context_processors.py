"""Template context shared by every page: the agent workspace navigation."""

from dataclasses import dataclass
from functools import lru_cache, partial

from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .permissions import DASHBOARD_PERMISSION, WORKSPACE_PERMISSION


@dataclass(frozen=True)
class NavEntry:
    """One entry of the left navigation, before it is resolved for a request.

    `url_names` lists the URL names the entry may point to, first match wins: a process
    whose app has no pages yet resolves none of them and shows as "coming soon", and
    lights up by itself once its app registers the URL.
    """

    key: str
    label: Promise
    icon: str
    url_names: tuple[str, ...]
    section: Promise | None = None
    permission: str | None = None
    # Dotted path of a function(request) -> int | None giving a count badge (the process
    # app owns it and keeps it cheap, e.g. cached); imported at call time.
    badge: str | None = None
    # More URL names whose paths belong to this entry (it lights up there too).
    also: tuple[str, ...] = ()


# One entry per process (ISO/IEC 20000-1 clause 8), grouped as the service desk sees them.
NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("dashboard", _("Dashboard"), "speedometer2", ("core:home",)),
    NavEntry(
        "incidents",
        _("Incidents"),
        "exclamation-octagon",
        ("incidents:incident_list",),
        section=_("Service desk"),
        badge="incidents.views.nav_badge",
    ),
    NavEntry(
        "service_requests",
        _("Service requests"),
        "inbox",
        ("service_requests:servicerequest_list", "service_requests:request_list"),
        section=_("Service desk"),
    ),
    NavEntry(
        "problems",
        _("Problems"),
        "bug",
        ("problems:problem_list",),
        section=_("Service desk"),
    ),
    NavEntry(
        "changes",
        _("Changes"),
        "arrow-repeat",
        ("changes:change_list",),
        section=_("Transition"),
    ),
    NavEntry(
        "releases",
        _("Releases"),
        "rocket-takeoff",
        ("releases:release_list",),
        section=_("Transition"),
    ),
    NavEntry(
        "cmdb",
        _("CMDB"),
        "diagram-3",
        ("config_items:configurationitem_list", "config_items:ci_list"),
        section=_("Services"),
    ),
    NavEntry(
        "catalogue",
        _("Service catalogue"),
        "journal-bookmark",
        ("catalogue:service_list", "catalogue:catalogueitem_list"),
        section=_("Services"),
    ),
    NavEntry(
        "knowledge",
        _("Knowledge"),
        "book",
        ("knowledge:article_list",),
        section=_("Services"),
    ),
    NavEntry(
        "slas",
        _("SLAs"),
        "stopwatch",
        ("sla:agreement_list", "sla:sla_list"),
        section=_("Services"),
        also=("sla:calendar_list",),
    ),
    NavEntry(
        "reports",
        _("Reports"),
        "bar-chart-line",
        ("reports:dashboard",),
        section=_("Performance"),
        permission=DASHBOARD_PERMISSION,
    ),
    NavEntry(
        "sla_dashboard",
        _("SLA dashboard"),
        "speedometer",
        ("sla:dashboard",),
        section=_("Performance"),
        permission="sla.view_agreement",
    ),
)


def _first_url_of(url_name: str) -> str | None:
    return _first_url((url_name,))


@lru_cache(maxsize=256)
def _first_url(url_names: tuple[str, ...]) -> str | None:
    """The URL of the first name that resolves; memoised per process: the URLconf is
    fixed while the process runs (24 reverse() calls on every page otherwise)."""
    for name in url_names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def _active_key(request, items: list[dict]) -> str | None:
    """The entry whose URL is the longest prefix of the current path ("/" only exactly)."""
    best, best_len = None, 0
    for item in items:
        if not item["url"]:
            continue
        for url in (item["url"], *item["also"]):
            matches = request.path == url if url == "/" else request.path.startswith(url)
            if matches and len(url) > best_len:
                best, best_len = item["key"], len(url)
    return best


def navigation(request) -> dict:
    """The left navigation of the agent workspace, for users who may use it.

    Entries the user may not open are left out; entries of processes not built yet stay
    visible but disabled, so agents see what the product will cover.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(WORKSPACE_PERMISSION):
        return {"nav_sections": []}
    items = [
        {
            "key": entry.key,
            "label": entry.label,
            "icon": entry.icon,
            "url": _first_url(entry.url_names),
            "section": entry.section,
            "badge": entry.badge,
            "also": [url for url in map(_first_url_of, entry.also) if url],
        }
        for entry in NAVIGATION
        if entry.permission is None or user.has_perm(entry.permission)
    ]
    active = _active_key(request, items)
    sections: list[dict] = []
    for item in items:
        item["is_active"] = item["key"] == active
        badge = item.pop("badge")
        item.pop("also")
        # A callable: the template calls it only where the navigation is drawn, so HTMX
        # fragments never pay for the count.
        item["count"] = partial(import_string(badge), request) if badge and item["url"] else None
        item["slot"] = _badge_slot(item["key"]) if item["count"] else ""
        if not sections or sections[-1]["title"] != item["section"]:
            sections.append({"title": item["section"], "items": []})
        sections[-1]["items"].append(item)
    return {"nav_sections": sections, "navigation_html": partial(navigation_html, sections)}


# Rendered navigations by (language, entries shown, active entry), each with a slot per
# count badge: the markup is the same for every page and user with the same entries.
_MARKUP: dict[tuple, str] = {}
_MARKUP_LIMIT = 512


def _badge_slot(key: str) -> str:
    """Where a count badge goes in the cached markup (an HTML comment)."""
    return mark_safe(f"<!--nav-count:{key}-->")  # noqa: S308 - the entry's fixed key


def navigation_html(sections: list[dict]) -> str:
    """The left navigation's markup (core/partials/navigation.html), rendered once per
    language, set of entries and active entry; only the count badges are filled in per
    request (their callables run here, so HTMX fragments never pay for them)."""
    items = [item for section in sections for item in section["items"]]
    key = (get_language(), tuple((item["key"], item["is_active"]) for item in items))
    markup = _MARKUP.get(key)
    if markup is None:
        if len(_MARKUP) >= _MARKUP_LIMIT:
            _MARKUP.clear()
        markup = _MARKUP[key] = render_to_string(
            "core/partials/navigation.html", {"nav_sections": sections}
        )
    for item in items:
        if item["count"]:
            count = item["count"]()
            badge = (
                format_html(
                    '<span class="badge rounded-pill text-bg-primary nav-count ms-auto" '
                    'title="{}">{}</span>',
                    _("Open incidents assigned to you"),
                    count,
                )
                if count
                else ""
            )
            markup = markup.replace(item["slot"], badge)
    return mark_safe(markup)  # noqa: S308 - rendered by the template, badges by format_html
