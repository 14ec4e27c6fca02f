"""The Storm tests' shared fixtures: a single-node cluster (tests/stormcluster.py)."""

from stormcluster import storm_cluster  # noqa: F401  (a fixture, used by name)
