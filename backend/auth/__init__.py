"""Accounts: users, workspaces and roles, browser sessions, API tokens, invites, limits.

- ``secrets``: password hashing (argon2) and random tokens stored as SHA-256.
- ``accounts``: the database side (create users, sessions, tokens, invites, memberships).
- ``policy``: which role each API route needs, and the dependency that enforces it on every route.
- ``limits``: request rate limits (the ``limits`` library), run and budget caps.
- ``bootstrap``: the first administrator on a fresh install.
"""
