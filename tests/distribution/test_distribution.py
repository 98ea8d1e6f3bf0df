"""`lamina.distribution` is not there yet: asking for a name says so and what to use."""

import pytest

import lamina


def test_distribution_names_raise_a_clear_attribute_error():
    with pytest.raises(AttributeError, match=r"lamina\.distribution\.DataParallel` is not "
                                             r"implemented yet.*DistributedDataParallel"):
        lamina.distribution.DataParallel  # noqa: B018
    assert not hasattr(lamina.distribution, "set_distribution")
