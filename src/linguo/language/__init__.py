"""Text analysis per language: frequency, tokenising, answer matching, checkers."""
