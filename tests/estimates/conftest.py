"""Estimates tests: the pure modules need nothing; the route tests use the API tests' database fixtures."""

# The shared database fixtures, imported by name so that each test package gets its own package-scoped
# database (pytest finds fixtures by the names a conftest module holds).
from tests.support.db import (  # noqa: F401
    api_env,
    api_env_extra,
    clean_tables,
    client,
    database_url,
    owner,
    sessions,
    settings,
    test_stack,
    workspace_id,
)
