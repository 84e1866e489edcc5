"""<option> markup written in Python, for selects with hundreds or thousands of options
(agents, organisations): a template loop, or Django's widget rendering, costs one
template render per option and dominated the pages that show them (STYLE.md §10:
presentation only)."""

import html


def escape(value) -> str:
    """conditional_escape without its lazy-string wrapper (a third of a page's time with
    thousands of options): the same entities, from the same html.escape."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def option_tag(value, label, *, selected: bool = False) -> str:
    """One escaped <option>; a value of None is the empty value."""
    text = "" if value is None else str(value)
    mark = " selected" if selected else ""
    return f'<option value="{escape(text)}"{mark}>{escape(label)}</option>'


def option_tags(pairs, chosen=()) -> str:
    """One <option> per (value, label) pair, selected when str(value) is in `chosen`."""
    return "".join(
        option_tag(value, label, selected=("" if value is None else str(value)) in chosen)
        for value, label in pairs
    )


class RenderedOptions:
    """(value, label) pairs with their <option> elements rendered once; iterates as the
    pairs. Kept in a cache with the lists, so pages reuse the markup and only mark the
    chosen values (`marked`)."""

    __slots__ = ("html", "pairs")

    def __init__(self, pairs):
        self.pairs = list(pairs)
        self.html = option_tags(self.pairs)

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getstate__(self):
        return (self.pairs, self.html)

    def __setstate__(self, state) -> None:
        self.pairs, self.html = state

    def marked(self, chosen) -> str:
        """The markup with the options whose value is in `chosen` selected."""
        markup = self.html
        for text in chosen:
            plain = f'<option value="{escape(text)}">'
            markup = markup.replace(plain, f"{plain[:-1]} selected>", 1)
        return markup
