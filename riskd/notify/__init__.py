"""Notifications: alerts that reach a person (apprise routes, grouping, queue, heartbeat)."""
