"""Estimates tests: the pure modules need nothing; the route tests use the API tests' database fixtures."""

from tests.support.db import *  # noqa: F401,F403  (fixtures: client, sessions, database_url, …)
