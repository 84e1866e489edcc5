"""Markdown bodies (descriptions, comments) rendered to HTML and sanitised.

The allow-list keeps formatting and links but drops scripts, event handlers, styles and
iframes, so a customer's comment cannot attack an agent's browser.
"""

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

_ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
    "sup",
    "sub",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
_EXTENSIONS = ["extra", "sane_lists", "nl2br"]


def markdown_render(text: str) -> SafeString:
    """Render Markdown to sanitised HTML; raw HTML in the input is sanitised too."""
    if not text:
        return mark_safe("")  # noqa: S308 - constant empty string
    html = markdown_lib.markdown(text, extensions=_EXTENSIONS, output_format="html")
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
