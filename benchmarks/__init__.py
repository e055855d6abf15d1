"""Benchmarks: nbmigrate against plain Alembic, measured in the same run."""
