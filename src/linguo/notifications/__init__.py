"""Notifications: the outbox of messages for learners (streak reminders), read by push delivery."""
