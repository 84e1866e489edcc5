"""The <option>s of the incident pages' selects, built in Python.

The agents' select lists every workspace user (thousands in a large desk) and appears up to
three times on a page; as a template loop it cost ~4,000 tag evaluations per render and
dominated the queue and incident pages (STYLE.md §10: presentation only). The shared
reference lists (`incidents.views.reference_choices`) go further: their options are
rendered once, when the cached lists are built (`RenderedOptions`), and a page only marks
the chosen ones.
"""

import html

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


class RenderedOptions:
    """(value, label) pairs with their <option> elements rendered once; iterates as the
    pairs. Kept in the cache with the lists, so pages reuse the markup."""

    __slots__ = ("html", "pairs")

    def __init__(self, pairs):
        self.pairs = list(pairs)
        self.html = "".join(_option(str(value), label, "") for value, label in self.pairs)

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getstate__(self):
        return (self.pairs, self.html)

    def __setstate__(self, state) -> None:
        self.pairs, self.html = state


@register.simple_tag
def select_options(options, chosen="", blank=""):
    """A blank option, then one per (value, label) pair; selected when str(value) is in
    `chosen` (a list of strings, or "" for none)."""
    chosen = chosen or ()
    if isinstance(chosen, str):
        chosen = (chosen,)
    parts = [f'<option value="">{_escape(blank)}</option>']
    if isinstance(options, RenderedOptions):
        markup = options.html
        for text in chosen:
            plain = f'<option value="{_escape(text)}">'
            markup = markup.replace(plain, f"{plain[:-1]} selected>", 1)
        parts.append(markup)
    else:
        for value, label in options:
            text = str(value)
            parts.append(_option(text, label, " selected" if text in chosen else ""))
    return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped


def _option(text: str, label, mark: str) -> str:
    return f'<option value="{_escape(text)}"{mark}>{_escape(label)}</option>'


def _escape(value) -> str:
    """conditional_escape without its lazy-string wrapper (a third of the page's time with
    thousands of options): the same entities, from the same html.escape."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
