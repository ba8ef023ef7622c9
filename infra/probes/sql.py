"""MySQL client output (SQL-2..5): rows from batch mode, and the errors the claims name.

The probes run ``mysql --batch --skip-column-names -e ...`` in the ``mysql`` container; batch output is
tab-separated rows, and errors arrive on stderr as ``ERROR <code> (<sqlstate>) ...: <message>``.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from typing import Any

from infra.checks.rules.credentials import EMPTY_PASSWORD_ENV

_ERROR = re.compile(r"ERROR\s+(\d+)\s*(?:\((\w+)\))?(?:\s+at line \d+)?:\s*(.*)")

ER_OPTION_PREVENTS_STATEMENT = 1290  # "The MySQL server is running with the --super-read-only option ..."
ER_ACCESS_DENIED = 1045


@dataclass(frozen=True)
class MysqlError:
    code: int
    sqlstate: str | None
    message: str


def parse_error(stderr: str) -> MysqlError | None:
    """The first ``ERROR nnnn`` line of the client's stderr, or None when the statement succeeded."""
    for line in stderr.splitlines():
        match = _ERROR.search(line)
        if match:
            return MysqlError(int(match.group(1)), match.group(2), match.group(3).strip())
    return None


def is_super_read_only_error(stderr: str) -> bool:
    """True for ERROR 1290 naming ``--super-read-only`` (a replica refusing a write, SQL-3).

    Plain ``--read-only`` also raises 1290 but would let a SUPER user write: the claim is super-read-only.
    """
    error = parse_error(stderr)
    return (
        error is not None
        and error.code == ER_OPTION_PREVENTS_STATEMENT
        and "super-read-only" in error.message
    )


def is_access_denied(stderr: str) -> bool:
    """True for ERROR 1045 (a login without the right password was refused, SQL-5)."""
    error = parse_error(stderr)
    return error is not None and error.code == ER_ACCESS_DENIED


def parse_rows(stdout: str) -> list[list[str]]:
    """Rows of ``--batch --skip-column-names`` output; ``NULL`` stays the string ``NULL``."""
    return [line.split("\t") for line in stdout.splitlines() if line.strip()]


def parse_variables(stdout: str) -> dict[str, str]:
    """``SHOW VARIABLES`` / two-column rows -> {name: value}."""
    return {row[0]: row[1] if len(row) > 1 else "" for row in parse_rows(stdout)}


def check_primary(variables: dict[str, str]) -> None:
    """The primary writes and logs binary: read_only and super_read_only off, log_bin on."""
    assert variables.get("read_only") in ("OFF", "0"), f"primary has read_only={variables.get('read_only')}"
    assert variables.get("super_read_only") in ("OFF", "0"), (
        f"primary has super_read_only={variables.get('super_read_only')}"
    )
    assert variables.get("log_bin") in ("ON", "1"), f"primary has log_bin={variables.get('log_bin')}"


def check_replica(variables: dict[str, str]) -> None:
    """A replica refuses writes even from SUPER users."""
    assert variables.get("super_read_only") in ("ON", "1"), (
        f"replica has super_read_only={variables.get('super_read_only')}"
    )


def cnf_options(text: str) -> dict[str, str | None]:
    """The ``[mysqld]`` options of a my.cnf snippet; dashes and underscores are the same to mysqld."""
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
    parser.read_string(text)
    if not parser.has_section("mysqld"):
        return {}
    return {key.replace("-", "_"): value for key, value in parser.items("mysqld")}


def check_configs(primary_cnf: str, replica_cnf: str) -> None:
    """SQL-1: the primary config turns on the binary log; the replica config turns on super-read-only."""
    primary, replica = cnf_options(primary_cnf), cnf_options(replica_cnf)
    assert "log_bin" in primary, f"primary config has no log-bin: {sorted(primary)}"
    assert "super_read_only" in replica, f"replica config has no super-read-only: {sorted(replica)}"
    assert replica["super_read_only"] in (None, "1", "ON", "on", "true", "TRUE"), (
        f"replica config sets super-read-only={replica['super_read_only']}"
    )


def secret_password_env(container: dict[str, Any], secret: str, key: str) -> str | None:
    """The env variable of a container that carries ``secret``/``key`` (None when none does)."""
    for entry in container.get("env") or []:
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref.get("name") == secret and ref.get("key") == key:
            return entry["name"]
    return None


# The same heuristic `infra check` (CRED-IN-GIT) applies to manifests: *_ALLOW_EMPTY[_ROOT]_PASSWORD.


def check_credentials_from_secret(container: dict[str, Any], secret: str, key: str) -> str:
    """SQL-5: the root password comes from the Secret, none allows an empty one; returns the variable."""
    variable = secret_password_env(container, secret, key)
    assert variable, f"container {container.get('name')} takes no env from Secret {secret} key {key}"
    literal = [e["name"] for e in container.get("env") or [] if "PASSWORD" in e["name"] and "value" in e]
    assert not literal, f"password variables with literal values: {literal}"
    unsafe = [e["name"] for e in container.get("env") or [] if EMPTY_PASSWORD_ENV.search(e["name"].upper())]
    assert not unsafe, f"container {container.get('name')} sets {unsafe}"
    return variable


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _checked(identifier: str) -> str:
    """Probe databases are named by the probes themselves; refuse anything that is not a plain identifier."""
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return identifier


def create_probe_table_sql(database: str, token: str) -> str:
    """A database with one row holding ``token``: what the replication probes write on the primary."""
    db, value = _checked(database), _checked(f"t{token}")[1:]
    create = f"CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, token VARCHAR(64));"
    insert = f" INSERT INTO {db}.t VALUES (1, '{value}');"  # noqa: S608 - identifier and value checked above
    return create + insert


def select_probe_token_sql(database: str) -> str:
    return f"SELECT token FROM {_checked(database)}.t WHERE id = 1"  # noqa: S608 - checked identifier


def drop_database_sql(database: str) -> str:
    return f"DROP DATABASE IF EXISTS {_checked(database)}"
