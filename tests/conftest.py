"""What every layer shares, and nothing heavy: tests/unit runs in seconds because this file
imports no AWS, Slack or database library (tests/integration/conftest.py does)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# A busy machine must not fail a property test for being slow: no deadline, no speed checks;
# in CI the examples are the same on every run.
hypothesis_settings.register_profile(
    "busy-machine",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
hypothesis_settings.load_profile("busy-machine")
