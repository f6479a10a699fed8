"""Outbound adapters behind small Protocols, each with an offline default."""
