"""When a member counts as stale: the access review and the digest agree on the default."""

STALE_AFTER_DAYS = 90
"""HUBKEEPER_STALE_AFTER_DAYS' default: no login and no activity for this long makes a member stale."""
