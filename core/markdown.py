"""Markdown bodies (descriptions, comments) rendered to HTML and sanitised.

The allow-list keeps formatting and links but drops scripts, event handlers, styles and
iframes, so a customer's comment cannot attack an agent's browser.
"""

import threading

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
# One converter per thread, reset before each use: building one loads its extensions
# again (most of the cost of `markdown.markdown()` on a short comment). Markdown
# instances are not thread-safe, hence one per thread.
_converters = threading.local()


def _converter() -> markdown_lib.Markdown:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown_lib.Markdown(extensions=_EXTENSIONS, output_format="html")
        _converters.markdown = converter
    return converter.reset()


def markdown_render(text: str) -> SafeString:
    """Render Markdown to sanitised HTML; raw HTML in the input is sanitised too."""
    if not text:
        return mark_safe("")  # noqa: S308 - constant empty string
    html = _converter().convert(text)
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
