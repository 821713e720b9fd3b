"""The application's database: its URL, whether it can be used, and who may run its work.

Clients and workers both need these: a SQLite URL made absolute (DBOS resolves relative ones against the
working directory), a clear message when the database cannot be reached, URLs with their password masked,
and executor ids with their exclusive lock. Two processes recovering the same executor's runs would run
them twice, so a worker holds its executor id's lock: a file lock beside a SQLite database, a Postgres
advisory lock otherwise. A client probes the same lock to tell whether a worker is alive.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ._advisory_lock import AdvisoryLock
from .private_files import FILE_MODE, create_private_file, private_directory, write_private_text
from .settings import EXECUTOR_ID_PATTERN, Settings


class RuntimeConfigError(Exception):
    """The database URL or the worker set-up is unusable; the message names the fix."""


class ExecutorBusyError(RuntimeConfigError):
    """Another live worker already holds this executor id."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, None for other databases; raises `RuntimeConfigError` if malformed."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise RuntimeConfigError(
            f"RESEARCH_DATABASE_URL {database_url!r} is not a database URL; "
            "use sqlite:////absolute/path.sqlite or postgresql://user@host:5432/dbname"
        ) from error
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise RuntimeConfigError(
                "RESEARCH_DATABASE_URL must name a SQLite file, e.g. sqlite:////abs/research.sqlite"
            )
        return Path(url.database).expanduser().resolve()
    if url.get_backend_name() != "postgresql":
        raise RuntimeConfigError(
            f"unsupported database {url.get_backend_name()!r} in RESEARCH_DATABASE_URL; use sqlite or postgresql"
        )
    return None


def normalized_database_url(settings: Settings) -> str:
    """The database URL with SQLite paths made absolute (DBOS resolves relative ones against the cwd)."""
    path = sqlite_path(settings.database_url)
    return f"sqlite:///{path}" if path is not None else settings.database_url


def check_database(settings: Settings) -> None:
    """Fail fast, with a clear message, when the database cannot be reached or created."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        try:
            # Owner-only before SQLite opens it: its WAL and shared-memory files take the file's mode.
            create_private_file(path)
            with sqlite3.connect(path, timeout=5) as connection:
                # WAL lets readers (UI, CLI) see runs while a worker writes; the mode persists in the file.
                connection.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as error:
            raise RuntimeConfigError(f"cannot open the SQLite database {path}: {error}") from error
        return
    import psycopg

    where = redacted_url(settings.database_url)
    try:
        with psycopg.connect(_libpq_url(settings.database_url), connect_timeout=5) as connection:
            row = connection.execute(
                "SELECT current_user, current_database(),"
                " has_database_privilege(current_database(), 'CREATE'),"
                " (SELECT has_schema_privilege('dbos', 'CREATE')"
                "  FROM pg_namespace WHERE nspname = 'dbos')"
            ).fetchone()
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeConfigError(
            f"cannot connect to {where}: {first_line}; check RESEARCH_DATABASE_URL (host, port, user, "
            "password, database name) and that the server is up"
        ) from error
    assert row is not None
    user, database, can_create_schema, can_use_schema = row
    # DBOS keeps its tables in schema `dbos`: creating it needs CREATE on the database, using it CREATE on it.
    if not (can_use_schema if can_use_schema is not None else can_create_schema):
        raise RuntimeConfigError(
            f"user {user!r} cannot create DBOS's tables in database {database!r} ({where}); "
            f'grant it with: GRANT CREATE ON DATABASE "{database}" TO "{user}" '
            "(or GRANT ALL ON SCHEMA dbos), or use a database that user owns"
        )


_SECRET_PARAMETER = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential|session", re.IGNORECASE)
"""Query parameters whose values are credentials (api_key, access_token, password, sig, ...)."""


def redacted_url(url: str) -> str:
    """`url` with the credentials it carries masked, for messages, logs and `deep-research config`: the
    password of `user:password@`, a bare `token@` of a web address, and query values named like secrets.

    Any URL, not only the database's: OPENAI_BASE_URL or a Logfire project URL may hold a password too. An
    unencoded '@' or '/' in a password must not leak the rest of it, so the user part is everything up to
    the last '@' before the query (a path with an '@' in it is masked too: shown too little, never too much).
    """
    scheme, separator, rest = url.partition("://")
    if not separator or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return "an unparsable URL"
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    address, tail = rest[:end], rest[end:]
    if "@" in address:
        userinfo, _, host = address.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        web = scheme.lower().startswith(("http", "ws"))
        shown = f"{user}:***" if colon else ("***" if web else user)  # a database user alone is no secret
        address = f"{shown}@{host}"
    query, hash_mark, fragment = (
        tail.removeprefix("?").partition("#") if tail.startswith("?") else ("", "", "")
    )
    if query:
        pairs = [pair.partition("=") for pair in query.split("&")]
        query = "&".join(
            f"{name}{equals}{'***' if equals and _SECRET_PARAMETER.search(name) else value}"
            for name, equals, value in pairs
        )
        tail = f"?{query}{hash_mark}{fragment}"
    return f"{scheme}://{address}{tail}"


def _libpq_url(database_url: str) -> str:
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def validate_executor_id(executor_id: str) -> str:
    """`executor_id` if it is a valid id, else `RuntimeConfigError` saying what one looks like."""
    if not re.fullmatch(EXECUTOR_ID_PATTERN, executor_id):
        raise RuntimeConfigError(
            f"invalid executor id {executor_id!r}: use up to 64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (e.g. worker-1)"
        )
    return executor_id


def executor_id_of(settings: Settings) -> str:
    """This install's executor id: RESEARCH_EXECUTOR_ID, else the host name and a name kept in the data dir.

    The kept name makes the id stable across restarts (so a restarted worker recovers its own runs) and
    different for two installs on one host.
    """
    if settings.executor_id:
        return settings.executor_id
    path = settings.data_dir / "executor-name"
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        name = ""
    if not re.fullmatch(r"[a-z0-9]{6}", name):
        name = secrets.token_hex(3)
        write_private_text(path, name + "\n")
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname().split(".")[0])[:40].strip("-") or "host"
    return f"{host}-{name}"


@contextmanager
def executor_lock(settings: Settings, executor_id: str, wait: float = 0) -> Iterator[None]:
    """Hold the exclusive lock of `executor_id` on this database, or raise `ExecutorBusyError`.

    `wait` seconds are allowed for a holder to let go: a probe (`executor_is_busy`) holds the lock for
    an instant, and a worker starting in that instant should not take it for a live one.
    """
    path = sqlite_path(settings.database_url)
    busy = (
        f"another worker with executor id {executor_id!r} is already running on this database; "
        "stop it first, or start this one with a different RESEARCH_EXECUTOR_ID"
    )
    if path is not None:
        private_directory(path.parent)
        lock = FileLock(f"{path}.{executor_id}.lock", mode=FILE_MODE)
        try:
            lock.acquire(timeout=wait, poll_interval=0.05)
        except Timeout as error:
            raise ExecutorBusyError(busy) from error
        try:
            yield
        finally:
            lock.release()
        return
    key = int.from_bytes(
        hashlib.sha256(f"deep-research:{executor_id}".encode()).digest()[:8], "big", signed=True
    )
    advisory = AdvisoryLock(_libpq_url(settings.database_url), key, executor_id)
    if not advisory.acquire(wait):
        raise ExecutorBusyError(busy)
    try:
        yield
    finally:
        advisory.release()


def executor_is_busy(settings: Settings, executor_id: str | None = None) -> bool:
    """Whether a live worker holds `executor_id` right now."""
    try:
        with executor_lock(settings, executor_id or executor_id_of(settings)):
            return False
    except ExecutorBusyError:
        return True
