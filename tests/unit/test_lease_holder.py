"""A lease's holder as others see it: silent once it is late with a renewal, long before its
lease lapses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.records import Holder

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def held(renewed_ago: timedelta, lease: timedelta = timedelta(minutes=2)) -> Holder:
    renewed = T0 - renewed_ago
    return Holder("cli (host:1:abc)", renewed - timedelta(hours=1), renewed, renewed + lease)


def test_a_holder_renewing_every_quarter_of_its_lease_is_not_silent():
    assert held(timedelta(seconds=30)).renew_every == timedelta(seconds=30)
    assert not held(timedelta(seconds=0)).silent(T0)
    assert not held(timedelta(seconds=44)).silent(T0)  # its renewal is due, and a bit late


def test_a_holder_half_an_interval_late_is_silent_though_its_lease_holds():
    silent = held(timedelta(seconds=46))
    assert silent.silent(T0) and silent.expires_at > T0
    assert held(timedelta(seconds=2), lease=timedelta(seconds=4)).silent(T0)  # a short lease
