"""Learning analytics: a learner's figures (SQL aggregates, cached) and daily snapshots."""
