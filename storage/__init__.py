"""Persistence: SQLAlchemy models, a small repository API, and Alembic migrations."""
