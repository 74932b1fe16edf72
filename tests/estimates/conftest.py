"""Estimates tests: the pure modules need nothing; the route tests use the API tests' database fixtures."""

from tests.support.db import *
