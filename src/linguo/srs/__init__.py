"""Spaced repetition: FSRS scheduling and each learner's personal FSRS parameters."""
