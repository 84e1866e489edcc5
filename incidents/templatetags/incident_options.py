"""The <option>s of the incident pages' selects, built in Python.

The agents' select lists every workspace user (thousands in a large desk) and appears up to
three times on a page; as a template loop it cost ~4,000 tag evaluations per render and
dominated the queue and incident pages (STYLE.md §10: presentation only).
"""

import html

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def select_options(options, chosen="", blank=""):
    """A blank option, then one per (value, label) pair; selected when str(value) is in
    `chosen` (a list of strings, or "" for none)."""
    chosen = chosen or ()
    parts = [f'<option value="">{_escape(blank)}</option>']
    for value, label in options:
        text = str(value)
        mark = " selected" if text in chosen else ""
        parts.append(f'<option value="{_escape(text)}"{mark}>{_escape(label)}</option>')
    return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped above


def _escape(value) -> str:
    """conditional_escape without its lazy-string wrapper (a third of the page's time with
    thousands of options): the same entities, from the same html.escape."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
