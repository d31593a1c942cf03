"""iam-inactive: a Slack bot that removes idle AWS console passwords with consent."""

__version__ = "0.1.0"  # pyproject.toml's too (tests/unit/test_settings.py keeps them equal)
