"""Follows and the activity feed of followed learners."""
