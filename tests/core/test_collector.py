"""core.collector: the garbage collector of a serving process."""

import gc

import pytest

from core.collector import tune_for_serving


@pytest.fixture
def collector_restored():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_serving_freezes_what_is_loaded_and_collects_the_young_less_often(settings, collector_restored):
    settings.AGENTRY_GC_THRESHOLD = 12_345
    _young, *older = gc.get_threshold()

    tune_for_serving()

    assert gc.get_threshold() == (12_345, *older)
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()  # cycles are still collected


def test_default_keeps_pythons_thresholds(settings, collector_restored):
    settings.AGENTRY_GC_THRESHOLD = None
    before = gc.get_threshold()

    tune_for_serving()

    assert gc.get_threshold() == before
