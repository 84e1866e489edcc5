"""The <option>s of the incident pages' selects, built in Python (`core.options`).

The agents' select lists every workspace user (thousands in a large desk) and appears up to
three times on a page. The shared reference lists (`incidents.views.reference_choices`)
are `RenderedOptions`: their options are rendered once, when the cached lists are built,
and a page only marks the chosen ones.
"""

from django import template
from django.utils.safestring import mark_safe

from core.options import RenderedOptions, escape, option_tags

register = template.Library()


@register.simple_tag
def select_options(options, chosen="", blank=""):
    """A blank option, then one per (value, label) pair; selected when str(value) is in
    `chosen` (a list of strings, a single string, or "" for none)."""
    chosen = chosen or ()
    if isinstance(chosen, str):
        chosen = (chosen,)
    markup = (
        options.marked(chosen)
        if isinstance(options, RenderedOptions)
        else option_tags(options, chosen)
    )
    # Every value and label is escaped by core.options.
    return mark_safe(f'<option value="">{escape(blank)}</option>{markup}')  # noqa: S308
