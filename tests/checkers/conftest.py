"""Hypothesis profiles for the checker property tests (registered in models.py).

The normal suite runs every property with a bounded number of examples (the
``checkers`` profile) so ``tests/checkers`` stays well under a minute;
``HYPOTHESIS_PROFILE=deep`` runs thousands per property before a release or
after a change to a checker, and applies to every Hypothesis test collected.
"""

from __future__ import annotations

import os

import models  # noqa: F401  (registers the profiles)
from hypothesis import settings

if os.environ.get("HYPOTHESIS_PROFILE") == "deep":
    settings.load_profile("deep")
