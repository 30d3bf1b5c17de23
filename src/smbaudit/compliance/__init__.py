"""Regulation coverage: catalogs, policy-document evidence, attestations and coverage (layer 3)."""
