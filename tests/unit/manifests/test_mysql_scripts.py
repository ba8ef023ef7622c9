"""The MySQL StatefulSet's shell scripts (SQL-2, SQL-4), run for real by bash against stub commands.

The scripts are taken from the rendered manifests. `mysql`, `socat`, `xbstream` and `xtrabackup` are
replaced by stubs on PATH that record their arguments, so what runs is the scripts' own logic: which
coordinates they pick from XtraBackup's files, the statements they send, and what they leave behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Rendered

DATADIR = "/var/lib/mysql"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

# Each stub appends one record per call in a single write (socat | xbstream run side by side): its name and
# arguments joined by the ASCII unit separator, ended by the record separator (arguments span lines).
STUB = """#!/bin/bash
IFS=$'\\x1f'; record="$(basename "$0")$IFS$*"; IFS=$' \\t\\n'
printf '%s\\x1e' "$record" >> "$CALLS"
{body}
"""
MYSQL_STUB = STUB.format(
    # STOP REPLICA on a server that has nothing to stop is an error for this stub: the script must cope.
    body='for a in "$@"; do [[ $a == "STOP REPLICA" ]] && { echo "ERROR: nothing to stop" >&2; exit 1; }\n'
    "done\nexit 0"
)


def script(rendered: dict[str, Rendered], field: str, name: str) -> str:
    spec = rendered["local"].get("StatefulSet", "lab-mysql", "mysql")["spec"]["template"]["spec"]
    (container,) = [c for c in spec[field] if c["name"] == name]
    assert container["command"][:2] == ["bash", "-c"]
    return container["command"][2]


def calls(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [record.split("\x1f") for record in path.read_text().split("\x1e") if record]


def run(text: str, tmp_path: Path, stubs: dict[str, str], env: dict[str, str]) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in stubs.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    full_env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "HOSTNAME": "mysql-2",
        **env,
    }
    text = text.replace(DATADIR, str(tmp_path / "data"))
    return subprocess.run(["bash", "-c", text], env=full_env, capture_output=True, text=True, timeout=30)


SLAVE_INFO = {
    "master": "CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=1234;\n",
    "source": "CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='mysql-bin.000003', SOURCE_LOG_POS=1234;\n",
}
SIDECAR_STUBS = {"mysql": MYSQL_STUB, "socat": STUB.format(body="exit 0")}


@pytest.mark.parametrize(
    ("slave_info", "binlog_info", "expected"),
    [
        # a clone of a replica: mysql-0's coordinates from xtrabackup_slave_info, not the replica's own binlog
        (SLAVE_INFO["master"], "binlog.000002\t157\t\n", ("mysql-bin.000003", "1234")),
        (SLAVE_INFO["source"], "binlog.000002\t157\t\n", ("mysql-bin.000003", "1234")),
        # a clone of mysql-0: an empty xtrabackup_slave_info, its own position in xtrabackup_binlog_info
        ("", "mysql-bin.000004\t4567\t\n", ("mysql-bin.000004", "4567")),
        (None, "mysql-bin.000004\t4567\n", ("mysql-bin.000004", "4567")),
    ],
    ids=["of-replica-master-syntax", "of-replica-source-syntax", "of-primary", "of-primary-no-slave-info"],
)
def test_sql_2_sidecar_resets_cloned_metadata_then_replicates_from_mysql_0(
    rendered: dict[str, Rendered], tmp_path: Path, slave_info: str | None, binlog_info: str, expected: tuple
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if slave_info is not None:
        (data / "xtrabackup_slave_info").write_text(slave_info)
    (data / "xtrabackup_binlog_info").write_text(binlog_info)
    sidecar = script(rendered, "containers", "xtrabackup")
    done = run(sidecar, tmp_path, SIDECAR_STUBS, {"MYSQL_ROOT_PASSWORD": "s3cr-t_"})
    assert done.returncode == 0, done.stderr

    recorded = calls(tmp_path / "calls")
    sql = [c[-1] for c in recorded if c[0] == "mysql" and "SELECT 1" not in c[-1]]
    assert sql[0] == "STOP REPLICA"
    (statement,) = sql[1:]
    statements = [s.strip() for s in statement.split(";") if s.strip()]
    assert [s.split(" TO ")[0] for s in statements] == [
        "RESET REPLICA ALL",
        "CHANGE REPLICATION SOURCE",
        "START REPLICA",
    ]
    change = " ".join(statements[1].split())
    log_file, log_pos = expected
    assert f"SOURCE_LOG_FILE='{log_file}', SOURCE_LOG_POS={log_pos}," in change
    assert "SOURCE_HOST='mysql-0.mysql'" in change
    assert "SOURCE_PASSWORD='s3cr-t_'" in change
    assert "GET_SOURCE_PUBLIC_KEY=1" in change
    # done once: the marker is kept, XtraBackup's files are gone, then the backup server runs
    assert sorted(p.name for p in data.iterdir()) == ["change_source.sql.done"]
    socat = recorded[-1]
    assert socat[0] == "socat"
    assert socat[1].startswith("TCP-LISTEN:3307,")
    assert "xtrabackup --backup --slave-info --stream=xbstream" in " ".join(socat[2].split())


def test_sql_2_sidecar_of_a_restarted_pod_does_not_touch_replication(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "change_source.sql.done").write_text("SOURCE_LOG_FILE='mysql-bin.000003', SOURCE_LOG_POS=1\n")
    sidecar = script(rendered, "containers", "xtrabackup")
    done = run(sidecar, tmp_path, SIDECAR_STUBS, {"MYSQL_ROOT_PASSWORD": "x" * 20})
    assert done.returncode == 0, done.stderr
    assert [c[0] for c in calls(tmp_path / "calls")] == ["socat"]


XBSTREAM_STUB = STUB.format(
    body="""dir=${@: -1}
mkdir -p "$dir/mysql" "$dir/#innodb_redo"
touch "$dir/ibdata1" "$dir/mysql.ibd" "$dir/auto.cnf" "$dir/.hidden-table-file"
printf 'mysql-bin.000003\\t157\\n' > "$dir/xtrabackup_binlog_info"
exit 0"""
)


@pytest.mark.parametrize(("hostname", "clones"), [("mysql-0", False), ("mysql-1", True), ("mysql-12", True)])
def test_sql_4_clone_takes_the_previous_pods_backup_into_an_empty_datadir(
    rendered: dict[str, Rendered], tmp_path: Path, hostname: str, clones: bool
) -> None:
    (tmp_path / "data").mkdir()
    stubs = {
        "socat": STUB.format(body="exit 0"),
        "xbstream": XBSTREAM_STUB,
        "xtrabackup": STUB.format(body="exit 0"),
    }
    done = run(script(rendered, "initContainers", "clone-mysql"), tmp_path, stubs, {"HOSTNAME": hostname})
    assert done.returncode == 0, done.stderr
    recorded = calls(tmp_path / "calls")
    names = sorted(p.name for p in (tmp_path / "data").iterdir())
    if not clones:
        assert recorded == []
        assert names == []
        return
    ordinal = int(hostname.rsplit("-", 1)[1])
    # socat | xbstream run side by side (either may record first); the prepare runs after both
    by_name = {c[0]: c for c in recorded}
    assert by_name["socat"][:3] == ["socat", "-u", f"TCP:mysql-{ordinal - 1}.mysql:3307"]
    assert by_name["xbstream"][:2] == ["xbstream", "-x"]
    assert [c[0] for c in recorded][2:] == ["xtrabackup"]
    assert by_name["xtrabackup"][:2] == ["xtrabackup", "--prepare"]
    # prepared in a scratch folder, then moved in whole (hidden files too); no copied server_uuid
    assert names == sorted(
        ["#innodb_redo", ".hidden-table-file", "ibdata1", "mysql", "mysql.ibd", "xtrabackup_binlog_info"]
    )


def test_sql_4_clone_leaves_existing_data_alone(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    (tmp_path / "data" / "mysql").mkdir(parents=True)
    stubs = {
        "socat": STUB.format(body="exit 1"),
        "xbstream": XBSTREAM_STUB,
        "xtrabackup": STUB.format(body="exit 1"),
    }
    done = run(script(rendered, "initContainers", "clone-mysql"), tmp_path, stubs, {"HOSTNAME": "mysql-1"})
    assert done.returncode == 0, done.stderr
    assert calls(tmp_path / "calls") == []
