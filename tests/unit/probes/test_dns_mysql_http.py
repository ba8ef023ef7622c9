"""DNS answers, MySQL client output and curl answers, on recorded outputs."""

from __future__ import annotations

import pytest

from infra.probes import dns, http
from infra.probes import sql as sql_probe

HEADLESS_PODS = ["10.244.1.7", "10.244.2.5", "10.244.1.8"]


@pytest.mark.parametrize(
    ("fixture", "addresses"),
    [
        ("nslookup-busybox-headless.txt", ["10.244.1.7", "10.244.2.5", "10.244.1.8"]),
        ("nslookup-busybox-clusterip.txt", ["10.96.143.21"]),
        ("nslookup-busybox-old-headless.txt", ["10.244.2.9", "10.244.1.4", "10.244.2.10"]),
        ("nslookup-bind-clusterip.txt", ["10.96.7.200"]),
    ],
)
def test_nslookup_answers_without_the_server(recorded, fixture, addresses):
    assert dns.parse_nslookup(recorded(fixture)) == addresses


def test_nxdomain_is_a_failed_lookup(recorded):
    with pytest.raises(dns.LookupFailed, match="NXDOMAIN"):
        dns.parse_nslookup(recorded("nslookup-nxdomain.txt"))


def test_getent_ahosts_deduplicates(recorded):
    assert dns.parse_getent(recorded("getent-ahosts-headless.txt")) == ["10.244.1.7", "10.244.2.5"]


def test_ipv4_only_drops_aaaa():
    assert dns.ipv4_only(["10.0.0.1", "fd00::1"]) == ["10.0.0.1"]


def test_cluster_ip_answer(recorded):
    dns.check_cluster_ip_answer(
        dns.parse_nslookup(recorded("nslookup-busybox-clusterip.txt")), "10.96.143.21"
    )
    with pytest.raises(AssertionError, match="expected only the ClusterIP"):
        dns.check_cluster_ip_answer(
            dns.parse_nslookup(recorded("nslookup-busybox-headless.txt")), "10.96.143.21"
        )


def test_headless_answer(recorded):
    answer = dns.parse_nslookup(recorded("nslookup-busybox-headless.txt"))
    dns.check_headless_answer(answer, HEADLESS_PODS)
    with pytest.raises(AssertionError, match="one address per pod"):
        dns.check_headless_answer(answer, [*HEADLESS_PODS, "10.244.2.6"])
    with pytest.raises(AssertionError, match="one address per pod"):  # a ClusterIP answer is not headless
        dns.check_headless_answer(
            dns.parse_nslookup(recorded("nslookup-busybox-clusterip.txt")), HEADLESS_PODS
        )


@pytest.mark.parametrize(
    ("fixture", "super_read_only", "denied"),
    [
        ("mysql-1290-super-read-only.txt", True, False),
        ("mysql-1290-read-only.txt", False, False),  # plain read-only is not the claim
        ("mysql-1045-access-denied.txt", False, True),
    ],
)
def test_mysql_errors(recorded, fixture, super_read_only, denied):
    text = recorded(fixture)
    assert sql_probe.is_super_read_only_error(text) is super_read_only
    assert sql_probe.is_access_denied(text) is denied


def test_mysql_error_parts(recorded):
    error = sql_probe.parse_error(recorded("mysql-1290-super-read-only.txt"))
    assert (error.code, error.sqlstate) == (1290, "HY000")
    assert sql_probe.parse_error("") is None


def test_primary_and_replica_variables(recorded):
    variables = sql_probe.parse_variables(recorded("mysql-primary-variables.txt"))
    sql_probe.check_primary(variables)
    with pytest.raises(AssertionError, match="super_read_only=OFF"):
        sql_probe.check_replica(variables)
    sql_probe.check_replica({"super_read_only": "ON"})
    with pytest.raises(AssertionError, match="log_bin=OFF"):
        sql_probe.check_primary({**variables, "log_bin": "OFF"})


def test_configs_from_the_configmap():
    primary = "# primary\n[mysqld]\nlog-bin=mysql-bin\n"
    replica = "[mysqld]\nsuper-read-only\n"
    sql_probe.check_configs(primary, replica)
    with pytest.raises(AssertionError, match="no super-read-only"):
        sql_probe.check_configs(primary, "[mysqld]\nread-only\n")
    with pytest.raises(AssertionError, match="no log-bin"):
        sql_probe.check_configs(replica, replica)
    with pytest.raises(AssertionError, match="super-read-only=0"):
        sql_probe.check_configs(primary, "[mysqld]\nsuper_read_only=0\n")


def _container(env):
    return {"name": "mysql", "env": env}


SECRET_ENV = {
    "name": "MYSQL_ROOT_PASSWORD",
    "valueFrom": {"secretKeyRef": {"name": "mysql-credentials", "key": "root-password"}},
}


def test_credentials_from_secret():
    assert sql_probe.check_credentials_from_secret(
        _container([SECRET_ENV]), "mysql-credentials", "root-password"
    ) == ("MYSQL_ROOT_PASSWORD")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ([], "takes no env from Secret"),
        ([SECRET_ENV, {"name": "MYSQL_ALLOW_EMPTY_PASSWORD", "value": "1"}], "MYSQL_ALLOW_EMPTY_PASSWORD"),
        ([SECRET_ENV, {"name": "MYSQL_PASSWORD", "value": "hunter2"}], "literal values"),
    ],
)
def test_unsafe_credentials(env, message):
    with pytest.raises(AssertionError, match=message):
        sql_probe.check_credentials_from_secret(_container(env), "mysql-credentials", "root-password")


def test_probe_sql_refuses_odd_identifiers():
    assert sql_probe.select_probe_token_sql("infra_probe_a1b2c3").endswith(
        "infra_probe_a1b2c3.t WHERE id = 1"
    )
    assert "VALUES (1, 'a1b2c3')" in sql_probe.create_probe_table_sql("infra_probe_a1b2c3", "a1b2c3")
    with pytest.raises(ValueError, match="identifier"):
        sql_probe.drop_database_sql("x; DROP DATABASE mysql")
    with pytest.raises(ValueError, match="identifier"):
        sql_probe.create_probe_table_sql("infra_probe", "a'); --")


@pytest.mark.parametrize(
    ("out", "status", "location"),
    [("308 https://127-0-0-1.nip.io/", 308, "https://127-0-0-1.nip.io/"), ("200 ", 200, ""), ("000 ", 0, "")],
)
def test_write_out(out, status, location):
    answer = http.parse_write_out(out)
    assert (answer.status, answer.location, answer.answered) == (status, location, status != 0)


def test_write_out_garbage():
    with pytest.raises(ValueError, match="not curl"):
        http.parse_write_out("<html>")


@pytest.mark.parametrize(
    ("out", "ok"),
    [
        ("308 https://127-0-0-1.nip.io/", True),
        ("301 https://127-0-0-1.nip.io/path", True),
        ("308 http://127-0-0-1.nip.io/", False),  # not HTTPS
        ("308 https://evil.example/", False),  # another host
        ("200 ", False),
        ("000 ", False),
    ],
)
def test_https_redirect(out, ok):
    answer = http.parse_write_out(out)
    assert http.is_https_redirect(answer, "127-0-0-1.nip.io") is ok
    if not ok:
        with pytest.raises(AssertionError):
            http.check_https_redirect(answer, "127-0-0-1.nip.io")


@pytest.mark.parametrize(
    ("scheme", "port", "path", "expected"),
    [
        ("http", 80, "/", "http://127-0-0-1.nip.io/"),
        ("https", 443, "/", "https://127-0-0-1.nip.io/"),
        ("http", 8080, "/", "http://127-0-0-1.nip.io:8080/"),  # rootless Docker: lab:httpPort 8080
        ("https", 8443, "/", "https://127-0-0-1.nip.io:8443/"),
        ("https", 80, "healthz", "https://127-0-0-1.nip.io:80/healthz"),  # the default is the scheme's
        ("http", 443, "/healthz", "http://127-0-0-1.nip.io:443/healthz"),
    ],
)
def test_url_names_the_port_only_when_not_the_schemes_default(scheme, port, path, expected):
    assert http.url(scheme, "127-0-0-1.nip.io", port, path) == expected


def test_url_refuses_another_scheme():
    with pytest.raises(ValueError, match="http or https"):
        http.url("ftp", "127-0-0-1.nip.io", 21)


@pytest.mark.parametrize(
    ("out", "port"),
    [
        ("308 https://127-0-0-1.nip.io/", 443),  # what ingress-nginx sends with its default HTTPS port
        ("308 https://127-0-0-1.nip.io:8443/", 8443),  # with use-port-in-redirects and --https-port=8443
    ],
)
def test_https_redirect_reports_the_port_it_names(out, port):
    answer = http.parse_write_out(out)
    assert http.redirect_port(answer) == port
    assert http.check_https_redirect(answer, "127-0-0-1.nip.io") == port
