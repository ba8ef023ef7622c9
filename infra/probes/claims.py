"""The claims, by stable ID, as the verification suite sees them: one live test per claim.

The table itself is the lab registry, :mod:`infra.labs` (catalog: ``docs/labs.md``); this module keeps the
names ``infra verify`` and ``tests/live`` import.
"""

from __future__ import annotations

from infra.labs import ALL_ENVIRONMENTS, BY_ID, CLAIMS, ORDER, Claim, claim_id_of, normalise_ids

__all__ = ["ALL_ENVIRONMENTS", "BY_ID", "CLAIMS", "ORDER", "Claim", "claim_id_of", "normalise_ids"]
