"""Benchmark accounts: users seeded straight into moto's backend (the API takes minutes)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends


def seed_account(users: int, now: datetime, seed: int = 7, keys_each: int | None = None) -> None:
    """About 20% findings; 0-2 keys a user, or `keys_each` each (dated, so that many are idle
    keys); deterministic for a given seed."""
    rng = random.Random(seed)
    backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    for index in range(users):
        name = f"user-{index:05d}"
        user = backend.create_user("us-east-1", name)
        kind = rng.random()
        if kind < 0.20:  # idle console password: a finding
            user.create_date = now - timedelta(days=rng.randint(200, 2000))
            backend.create_login_profile(name, "Bench-password-1!")
            if rng.random() < 0.8:
                user.password_last_used = now - timedelta(days=rng.randint(90, 600))
        elif kind < 0.50:  # signed in recently
            user.create_date = now - timedelta(days=rng.randint(100, 2000))
            backend.create_login_profile(name, "Bench-password-1!")
            user.password_last_used = now - timedelta(days=rng.randint(0, 89))
        elif kind < 0.85:  # keys only, no password
            user.create_date = now - timedelta(days=rng.randint(100, 2000))
        else:  # new joiner with a password never used yet
            user.create_date = now - timedelta(days=rng.randint(0, 60))
            backend.create_login_profile(name, "Bench-password-1!")
        if keys_each is None:
            seed_keys(backend, name, now, rng)
        else:
            seed_dated_keys(backend, name, user.create_date, keys_each, now, rng)


def seed_keys(backend: IAMBackend, name: str, now: datetime, rng: random.Random) -> None:
    """0-2 access keys, most of them used at some time in the last 400 days."""
    for _ in range(rng.choice((0, 1, 1, 2))):
        key = backend.create_access_key(name)
        if rng.random() < 0.7:
            key.last_used = AccessKeyLastUsed(
                timestamp=now - timedelta(days=rng.randint(0, 400)),
                service="s3",
                region="us-east-1",
            )


def seed_dated_keys(
    backend: IAMBackend,
    name: str,
    made: datetime,
    count: int,
    now: datetime,
    rng: random.Random,
) -> None:
    """`count` Active keys, the first made with the user, each next one up to 90 days after the
    one before (a rotation), most used at some time since: a key used in the last 45 days is in
    use, an older or never used one is idle (unless it is new)."""
    for _ in range(count):
        key = backend.create_access_key(name)
        key.create_date = made
        made = min(now, made + timedelta(days=rng.randint(1, 90)))
        if rng.random() < 0.7:
            key.last_used = AccessKeyLastUsed(
                timestamp=max(key.create_date, now - timedelta(days=rng.randint(0, 400))),
                service=rng.choice(("s3", "sts", "ec2")),
                region="us-east-1",
            )
