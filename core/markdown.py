"""Markdown bodies (descriptions, comments) rendered to HTML and sanitised.

The dialect is GitHub Flavored Markdown (CommonMark with tables, strikethrough, autolinks
and footnotes), with a line break kept as a line break, as people type in a ticket.
cmark-gfm, GitHub's C implementation, renders it: about ten times faster than a Python
renderer, which matters on pages and API answers that render a body per row.

The allow-list keeps formatting and links but drops scripts, event handlers, styles and
iframes, so a customer's comment cannot attack an agent's browser.
"""

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options
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
# Raw HTML in the input is passed on to nh3, which keeps what the allow-list allows
# (cmark would otherwise replace all of it with a comment).
_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_HARDBREAKS | Options.CMARK_OPT_FOOTNOTES


def markdown_render(text: str) -> SafeString:
    """Render Markdown to sanitised HTML; raw HTML in the input is sanitised too."""
    if not text:
        return mark_safe("")  # noqa: S308 - constant empty string
    html = cmarkgfm.github_flavored_markdown_to_html(text, options=_OPTIONS)
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
