"""The <option>s of the incident pages' selects, built in Python.

The agents' select lists every workspace user (thousands in a large desk) and appears up to
three times on a page; as a template loop it cost ~4,000 tag evaluations per render and
dominated the queue and incident pages (STYLE.md §10: presentation only).
"""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def select_options(options, chosen="", blank=""):
    """A blank option, then one per (value, label) pair; selected when str(value) is in
    `chosen` (a list of strings, or "" for none)."""
    chosen = chosen or ()
    parts = [f'<option value="">{conditional_escape(blank)}</option>']
    for value, label in options:
        text = str(value)
        mark = " selected" if text in chosen else ""
        parts.append(
            f'<option value="{conditional_escape(text)}"{mark}>{conditional_escape(label)}</option>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped above
