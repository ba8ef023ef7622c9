"""SQL-1..5: replicated MySQL 8.0 on a StatefulSet (primary mysql-0, replicas cloned with XtraBackup)."""

from __future__ import annotations

import shlex

import pytest

from infra.probes import dns
from infra.probes import sql as sql_probe
from infra.probes import sts as sts_probe
from infra.probes.eventually import eventually

NAMESPACE, NAME, READ_SERVICE, CONFIGMAP = "lab-mysql", "mysql", "mysql-read", "mysql"
SECRET, SECRET_KEY, CONTAINER = "mysql-credentials", "root-password", "mysql"
SELECTOR = "app.kubernetes.io/name=mysql"
DOMAIN = "svc.cluster.local"
REPLICAS = 3
# A new replica initialises from a streamed XtraBackup clone on NFS: allow 10 minutes for it to be Ready.
CLONE_TIMEOUT = 600


@pytest.fixture(scope="module")
def password_variable(kube) -> str:
    """The mysql container's env variable holding the root password (so it never hits a command line)."""
    sts = kube.json(kube.apps.read_namespaced_stateful_set(NAME, NAMESPACE))
    container = next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == CONTAINER)
    return sql_probe.check_credentials_from_secret(container, SECRET, SECRET_KEY)


@pytest.fixture(scope="module")
def sql(kube, password_variable):
    """Run SQL on one pod as root, with the password from the container's own environment."""

    def run(pod: str, statement: str, *, with_password: bool = True):
        login = f'MYSQL_PWD="${password_variable}" ' if with_password else "MYSQL_PWD= "
        client = "mysql --host=127.0.0.1 --user=root --batch --skip-column-names"
        return kube.sh(pod, NAMESPACE, f"{login}{client} -e {shlex.quote(statement)}", container=CONTAINER)

    return run


def _rows(result) -> list[list[str]]:
    assert result.rc == 0, f"mysql failed: {result.stderr.strip()}"
    return sql_probe.parse_rows(result.stdout)


@pytest.mark.live
@pytest.mark.parametrize("what", ["headless-dns", "read-clusterip-dns", "configmap"])
def test_sql_1_services_and_configmap(kube, lookup, what, retry_on):
    """Headless `mysql` has one record per pod, `mysql-read` one ClusterIP; the ConfigMap has both configs."""

    def probe() -> None:
        if what == "headless-dns":
            pod_ips = [p["status"]["podIP"] for p in kube.ready_pods(NAMESPACE, SELECTOR)]
            dns.check_headless_answer(lookup(f"{NAME}.{NAMESPACE}.{DOMAIN}"), pod_ips)
        elif what == "read-clusterip-dns":
            cluster_ip = kube.core.read_namespaced_service(READ_SERVICE, NAMESPACE).spec.cluster_ip
            dns.check_cluster_ip_answer(lookup(f"{READ_SERVICE}.{NAMESPACE}.{DOMAIN}"), cluster_ip)
        else:
            data = kube.core.read_namespaced_config_map(CONFIGMAP, NAMESPACE).data or {}
            assert {"primary.cnf", "replica.cnf"} <= set(data), f"ConfigMap {CONFIGMAP} keys: {sorted(data)}"
            sql_probe.check_configs(data["primary.cnf"], data["replica.cnf"])

    eventually(probe, 120, 5, f"SQL-1 {what}", retry_on=(*retry_on, dns.LookupFailed))


@pytest.fixture(scope="module")
def probe_rows(sql, token):
    """A database written on mysql-0 for the replication probes; dropped afterwards (the drop replicates)."""
    database = f"infra_probe_{token}"
    created = sql(f"{NAME}-0", sql_probe.create_probe_table_sql(database, token))
    try:
        assert created.rc == 0, f"writing on {NAME}-0 failed: {created.stderr.strip()}"
        yield database
    finally:
        sql(f"{NAME}-0", sql_probe.drop_database_sql(database))


@pytest.mark.live
@pytest.mark.parametrize("pod", [f"{NAME}-0", f"{NAME}-1", f"{NAME}-2"])
def test_sql_2_primary_writes_replicate(sql, probe_rows, token, pod, retry_on):
    """mysql-0 is read-write with a binary log; what it wrote appears on mysql-1 and mysql-2."""
    if pod == f"{NAME}-0":
        variables = sql_probe.parse_variables(
            _ok(
                sql(
                    pod,
                    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only','super_read_only','log_bin')",
                )
            )
        )
        sql_probe.check_primary(variables)

    def replicated() -> None:
        rows = _rows(sql(pod, sql_probe.select_probe_token_sql(probe_rows)))
        assert rows == [[token]], f"{pod} returns {rows} for the row written on {NAME}-0"

    eventually(replicated, 60, 2, f"row written on {NAME}-0 visible on {pod}", retry_on=retry_on)


def _ok(result) -> str:
    assert result.rc == 0, f"mysql failed: {result.stderr.strip()}"
    return result.stdout


@pytest.mark.live
@pytest.mark.parametrize("pod", [f"{NAME}-1", f"{NAME}-2"])
def test_sql_3_replica_refuses_writes(sql, token, pod, undo):
    """A write on a replica fails with ERROR 1290 (--super-read-only)."""
    database = f"infra_probe_ro_{token}"
    undo(
        lambda: sql(pod, f"SET GLOBAL super_read_only = super_read_only; DROP DATABASE IF EXISTS {database}"),
        f"drop {database} on {pod} if it was created",
    )
    sql_probe.check_replica(
        sql_probe.parse_variables(_ok(sql(pod, "SHOW GLOBAL VARIABLES LIKE 'super_read_only'")))
    )
    attempt = sql(pod, f"CREATE DATABASE {database}")
    assert attempt.rc != 0, f"{pod} accepted a write (CREATE DATABASE {database})"
    assert sql_probe.is_super_read_only_error(attempt.stderr), (
        f"{pod} refused with another error: {attempt.stderr}"
    )


@pytest.mark.live
def test_sql_4_new_replica_clones_and_data_survives(kube, sql, token, undo, retry_on):
    """Scale 3 -> 4: mysql-3 clones the data and answers at once; data on NFS PVCs survives pod deletion."""
    database = f"infra_probe_clone_{token}"
    _ok(sql(f"{NAME}-0", sql_probe.create_probe_table_sql(database, token)))
    undo(lambda: sql(f"{NAME}-0", sql_probe.drop_database_sql(database)), f"drop {database}")
    sts = kube.json(kube.apps.read_namespaced_stateful_set(NAME, NAMESPACE))
    original = sts["spec"]["replicas"]
    new_pod = f"{NAME}-{original}"
    new_claims = [c for c in sts_probe.claim_names(sts, [original]) if not kube.claim_exists(NAMESPACE, c)]
    undo(
        lambda: kube.restore_statefulset(NAMESPACE, NAME, original, new_claims, CLONE_TIMEOUT),
        f"StatefulSet {NAME} back to {original} replicas, new PVCs removed",
    )
    kube.scale("StatefulSet", NAMESPACE, NAME, original + 1)
    kube.wait_ready_replicas("StatefulSet", NAMESPACE, NAME, original + 1, CLONE_TIMEOUT)
    rows = _rows(sql(new_pod, sql_probe.select_probe_token_sql(database)))
    assert rows == [[token]], f"new replica {new_pod} returns {rows} right after becoming Ready"

    pods = kube.pods(NAMESPACE, SELECTOR)
    pvcs = kube.json(kube.core.list_namespaced_persistent_volume_claim(NAMESPACE).items)
    sts_probe.check_claims(
        kube.json(kube.apps.read_namespaced_stateful_set(NAME, NAMESPACE)), pods, pvcs, "nfs-client"
    )

    victim = f"{NAME}-{REPLICAS - 1}"
    old_uid = kube.pod(NAMESPACE, victim)["metadata"]["uid"]
    kube.delete_pod(NAMESPACE, victim, grace=None)

    def back_with_data() -> None:
        pod = kube.pod(NAMESPACE, victim)
        assert pod["metadata"]["uid"] != old_uid, f"{victim} not yet replaced"
        assert kube.is_ready(pod), f"new {victim} is not Ready"
        assert _rows(sql(victim, sql_probe.select_probe_token_sql(database))) == [[token]], (
            f"{victim} lost the data"
        )

    eventually(back_with_data, CLONE_TIMEOUT, 5, f"{victim} back with its data", retry_on=retry_on)


@pytest.mark.live
def test_sql_5_credentials_from_secret(kube, sql, password_variable):
    """The root password comes from the Secret (non-empty); a login without it is refused, with it works."""
    password = kube.secret_value(NAMESPACE, SECRET, SECRET_KEY)
    assert password.strip(), f"Secret {SECRET} holds an empty {SECRET_KEY}"
    without = sql(f"{NAME}-0", "SELECT 1", with_password=False)
    assert without.rc != 0, "root logged in with an empty password"
    assert sql_probe.is_access_denied(without.stderr), (
        f"empty-password login failed otherwise: {without.stderr}"
    )
    assert _rows(sql(f"{NAME}-0", "SELECT 1")) == [["1"]], f"login with ${password_variable} failed"
