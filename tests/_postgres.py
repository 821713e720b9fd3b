"""Throwaway PostgreSQL databases, for the tests and the benchmarks alike.

`throwaway_database` creates a fresh, empty database on a server reached through an admin URL and drops it
afterwards, even with connections still open (a killed worker's). What to do without a server is the
caller's business: tests/conftest.py skips or fails the test, bench/_common.py leaves out the figures.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class PostgresUnavailable(Exception):
    """No database can be made here: psycopg is not installed, or no server answers at the admin URL."""


@contextmanager
def throwaway_database(admin_url: str, prefix: str, setting: str) -> Iterator[str]:
    """The URL of a new database named `prefix_<random>` on `admin_url`'s server, dropped on exit.

    Raises PostgresUnavailable before yielding when there is no server to make it on; its message names
    `setting`, the variable that chooses another server.
    """
    if importlib.util.find_spec("psycopg") is None:
        raise PostgresUnavailable("psycopg is not installed")
    import psycopg

    refused = None
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        refused = error  # raised outside the handler, so a report shows no chained traceback
    if refused is not None:
        raise PostgresUnavailable(f"no PostgreSQL at {admin_url} ({refused}); set {setting}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
