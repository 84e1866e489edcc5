"""The select options of the incident pages (incidents.templatetags.incident_options)."""

import pickle

from core.options import RenderedOptions
from incidents.templatetags.incident_options import select_options

PAIRS = [(1, "Ann <admin>"), (12, "Bo & Co"), (123, 'Cy "the" Kid')]


def test_rendered_options_mark_exactly_the_chosen_values_and_escape_labels():
    rendered = pickle.loads(pickle.dumps(RenderedOptions(PAIRS)))  # as read from the cache

    markup = select_options(rendered, ["12"], "Any")

    assert markup == (
        '<option value="">Any</option>'
        '<option value="1">Ann &lt;admin&gt;</option>'
        '<option value="12" selected>Bo &amp; Co</option>'
        '<option value="123">Cy &quot;the&quot; Kid</option>'
    )
    assert markup == select_options(PAIRS, ["12"], "Any")  # same as the plain pairs
    assert list(rendered) == PAIRS


def test_several_chosen_values_and_none():
    rendered = RenderedOptions(PAIRS)

    assert select_options(rendered, ["1", "123"]).count(" selected") == 2
    assert " selected" not in select_options(rendered, "")
    assert select_options(rendered, "12") == select_options(rendered, ["12"])
