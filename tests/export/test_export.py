"""`lamina.export` is not there yet: asking for a name says so and what to use instead."""

import pytest

import lamina


def test_export_names_raise_a_clear_attribute_error():
    with pytest.raises(AttributeError, match=r"lamina\.export\.ExportArchive` is not "
                                             r"implemented yet.*torch\.export\.export"):
        lamina.export.ExportArchive  # noqa: B018
    assert not hasattr(lamina.export, "export_saved_model")
