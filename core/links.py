"""Links to records without a reverse() per link: list pages and timelines link every row,
and reversing a URL costs more than rendering the row's other cells. The URLconf is fixed
while a process runs, so each pattern is reversed once and filled in after."""

from functools import lru_cache

from django.urls import reverse

# A number no real key takes, reversed in place of the key and then replaced by it.
_PLACEHOLDER = "2147483647"


@lru_cache(maxsize=256)
def _pattern(name: str) -> tuple[str, str]:
    head, tail = reverse(name, args=[int(_PLACEHOLDER)]).split(_PLACEHOLDER)
    return head, tail


def record_url(name: str, pk: int) -> str:
    """`reverse(name, args=[pk])` for a URL whose only argument is an integer key."""
    head, tail = _pattern(name)
    return f"{head}{int(pk)}{tail}"
