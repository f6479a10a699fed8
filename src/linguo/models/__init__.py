"""All ORM tables, one module per domain; importing this package registers every table."""

from linguo.models.identity import Device, DevicePlatform, Plan, RefreshToken, Role, User

__all__ = ["Device", "DevicePlatform", "Plan", "RefreshToken", "Role", "User"]
