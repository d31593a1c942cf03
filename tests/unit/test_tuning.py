"""The terminal scan's loading: the collector off while it loads, then what it loaded frozen."""

from __future__ import annotations

import gc

import pytest

from bot.entry.tuning import loading


@pytest.fixture(autouse=True)
def _unfrozen():
    yield
    gc.unfreeze()  # this test process is no one-shot command
    gc.enable()


def test_the_collector_is_off_while_loading_and_what_was_loaded_is_frozen_after():
    with loading() as loaded:
        assert not gc.isenabled()
        loaded()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    assert gc.isenabled()


def test_a_command_that_fails_while_loading_turns_the_collector_back_on():
    with pytest.raises(RuntimeError), loading():
        raise RuntimeError("cannot open the database")
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    with loading() as loaded:
        loaded()
    assert not gc.isenabled()
