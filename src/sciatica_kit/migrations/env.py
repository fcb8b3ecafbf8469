"""Alembic environment: always runs on the connection the store hands over (never from an ini file)."""

from alembic import context


def _run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # only when Alembic runs this file (not when a tool such as pytest imports it)
    _run()
