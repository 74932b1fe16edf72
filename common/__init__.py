"""What the web process and the worker both need, and nothing else: pure Python (pydantic for validation).

No torch, no web framework, no database here: the API imports it without pulling in training code, and the
engine (``worker/zo``, ``worker/train``) imports it without pulling in web code. An import-linter contract
(``pyproject.toml``, checked in CI) keeps it so.

- ``methods``: the registry of optimisation methods (name, label, kind, hyperparameters with defaults and
  ranges, colour, display order, memory profile, step cost).
- ``runspec``: ``RunSpec``, the one JSON object a run starts from, and ``RunSettings``, the part of it a PoC
  fixes for all its runs, with every field's default and limits.
- ``limits``: the product's other limits (names, methods per PoC).
- ``datafiles``: CSV/TSV/JSONL parsing with row-level errors (uploads are validated with what runs read).
- ``builtin_data``: the built-in datasets.
"""
