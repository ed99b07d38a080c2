"""Alembic's environment and revisions; run them with `bot.store.db.migrate(url)`."""
