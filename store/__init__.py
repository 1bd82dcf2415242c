"""Postgres through asyncpg: pool, SQL migrations, queries and repositories."""
