"""Limits of the product that are not fields of a run (those live on ``common.runspec.RunSettings``).

Deployment policy (the budget caps per role, upload sizes, runs per user) is configuration, not code: it is
in the settings (``backend.core.config``), and ``GET /api/limits`` serves both, so the launch form, the API
and the engine agree.
"""

from __future__ import annotations

# A PoC's name as people type it (the database column holds 200 characters).
POC_NAME_MAX_LENGTH = 200
# A model id, Hugging Face id or server folder.
MODEL_NAME_MAX_LENGTH = 500
# Methods compared in one PoC.
METHODS_PER_POC_MAX = 8
# The hard ceiling of a run's step budget; roles may be capped lower (ZOPOC_MAX_STEPS_BY_ROLE).
MAX_STEPS = 1_000_000
# The hard ceiling of a run's minutes budget: a week.
MAX_MINUTES = 7 * 24 * 60.0
