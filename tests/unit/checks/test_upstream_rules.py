"""The API server's validation, offline: each rejection fixture trips its rule with the server's own message.

Every entry of ``REJECTED`` names the upstream message it mirrors (Kubernetes v1.36,
``pkg/apis/<group>/validation/validation.go``); the entries marked "set" are not API server rejections but
sets that apply and never work (a PVC stuck Pending, an Ingress no controller serves, a second copy of an
object silently winning).
"""

from __future__ import annotations

import pytest

from infra.checks import RULES, Severity, check_documents
from infra.checks.rules.batch import schedule_problem, time_zone_problem
from infra.checks.rules.upstream import go_value, label_key, port_name
from infra.environments import ENVIRONMENTS
from infra.render import collect, load_documents

REJECTED = [
    # (fixture, rule, the message the API server (or, for set checks, kubectl/the cluster) gives)
    (
        "apps/bad-selector.yaml",
        "APPS-SELECTOR",
        'spec.template.metadata.labels: Invalid value: {"app":"wbe"}: '
        "`selector` does not match template `labels`",
    ),
    (
        "apps/bad-empty-selector.yaml",
        "APPS-SELECTOR",
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
    ),
    (
        "apps/bad-restart-policy.yaml",
        "APPS-SELECTOR",
        'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
    ),
    (
        "apps/bad-deployment-rollout.yaml",
        "APPS-ROLLOUT",
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
    ),
    (
        "apps/bad-daemonset-rollout.yaml",
        "APPS-ROLLOUT",
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
    ),
    (
        "apps/bad-progress-deadline.yaml",
        "APPS-ROLLOUT",
        "spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds",
    ),
    (
        "apps/bad-percent.yaml",
        "APPS-ROLLOUT",
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
    ),
    (
        "autoscaling/bad-max-below-min.yaml",
        "HPA-SPEC",
        "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`",
    ),
    (
        "autoscaling/bad-min-zero.yaml",
        "HPA-SPEC",
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
    ),
    (
        "autoscaling/bad-utilization-missing.yaml",
        "HPA-METRIC",
        "spec.metrics[0].resource.target.averageUtilization: Required value: "
        "must set either a target raw value or a target utilization",
    ),
    (
        "autoscaling/bad-metric-source.yaml",
        "HPA-METRIC",
        "spec.metrics[0].resource: Required value: must populate information for the given metric source",
    ),
    (
        "autoscaling/bad-behavior.yaml",
        "HPA-METRIC",
        "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
    ),
    (
        "batch/bad-schedule-fields.yaml",
        "CRON-SCHEDULE",
        'spec.schedule: Invalid value: "*/5 * * *": expected exactly 5 fields, found 4',
    ),
    ("batch/bad-schedule-range.yaml", "CRON-SCHEDULE", 'spec.schedule: Invalid value: "61 * * * *": '),
    (
        "batch/bad-timezone.yaml",
        "CRON-SCHEDULE",
        'spec.timeZone: Invalid value: "Europe/Berlim": unknown time zone Europe/Berlim',
    ),
    (
        "batch/bad-tz-in-schedule.yaml",
        "CRON-SCHEDULE",
        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
    ),
    (
        "batch/bad-restart-policy.yaml",
        "JOB-SPEC",
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    ),
    (
        "batch/bad-selector.yaml",
        "JOB-SPEC",
        'spec.selector: Invalid value: {"matchLabels":{"app":"migrate"}}: `selector` not auto-generated',
    ),
    ("batch/bad-cronjob-name.yaml", "JOB-SPEC", "must be no more than 52 characters"),
    (
        "core/bad-duplicate-container.yaml",
        "POD-NAMES",
        'spec.template.spec.containers[0].name: Duplicate value: "app"',
    ),
    (
        "core/bad-duplicate-volume.yaml",
        "POD-NAMES",
        'spec.template.spec.volumes[1].name: Duplicate value: "tmp"',
    ),
    (
        "core/bad-mount.yaml",
        "POD-MOUNTS",
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "config"',
    ),
    (
        "core/bad-port-name.yaml",
        "POD-PORTS",
        'spec.template.spec.containers[0].ports[0].name: Invalid value: "http_web": must contain only '
        "alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    ),
    (
        "core/bad-probe-threshold.yaml",
        "POD-PROBE",
        "spec.template.spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
    ),
    ("core/bad-service-ports.yaml", "SVC-SPEC", "spec.ports[0].name: Required value"),
    (
        "core/bad-service-duplicate.yaml",
        "SVC-SPEC",
        'spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}',
    ),
    (
        "core/bad-name.yaml",
        "META-NAMES",
        'metadata.name: Invalid value: "Web_App": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    ),
    (
        "core/bad-service-name.yaml",
        "META-NAMES",
        'metadata.name: Invalid value: "2web": a DNS-1035 label must consist of lower case alphanumeric '
        "characters or '-', start with an alphabetic character",
    ),
    (
        "core/bad-label.yaml",
        "META-NAMES",
        'metadata.labels: Invalid value: "1.0 beta": a valid label must be an empty string or consist of',
    ),
    (
        "policy/bad-both.yaml",
        "PDB-SPEC",
        "minAvailable and maxUnavailable cannot be both set",
    ),
]
NEVER_WORKS = [
    ("core/bad-probe-port.yaml", "POD-PROBE", "'metrics' is not a named port of container app"),
    ("sets/bad-duplicate-object.yaml", "DUP-OBJECT", "Deployment web is already defined at"),
    ("sets/bad-duplicate-key.yaml", "DUP-KEY", 'mapping key "image" already defined at line'),
    (
        "sets/bad-storage-class.yaml",
        "STORAGE-CLASS",
        "storageClassName nfs is not a StorageClass of any environment",
    ),
    (
        "sets/bad-claim-template-class.yaml",
        "STORAGE-CLASS",
        "volumeClaimTemplates[0] (data) storageClassName gp3",
    ),
    ("sets/bad-ingress-class.yaml", "INGRESS-CLASS", "ingressClassName traefik is not an IngressClass"),
]
GOOD = [
    "apps/good.yaml",
    "autoscaling/good.yaml",
    "batch/good.yaml",
    "core/good.yaml",
    "policy/good.yaml",
    "sets/good.yaml",
    "sets/good-ingress-class.yaml",
]
NEW_RULES = {rule for _f, rule, _t in REJECTED + NEVER_WORKS} | {"SERVER-DRY-RUN"}  # test_server.py


@pytest.mark.parametrize(
    ("fixture", "rule", "message"), REJECTED + NEVER_WORKS, ids=[r[0] for r in REJECTED + NEVER_WORKS]
)
def test_rejected_fixture_trips_its_rule_with_the_servers_message(check, fixture, rule, message):
    errors = [f for f in check(fixture) if f.severity is Severity.ERROR]
    assert {f.rule for f in errors} == {rule}, [f.line() for f in errors]
    assert any(message in f.message for f in errors), [f.message for f in errors]
    assert all(f.hint for f in errors)


@pytest.mark.parametrize("fixture", GOOD)
def test_accepted_fixture_is_clean(check, fixture):
    assert [f.line() for f in check(fixture) if f.severity > Severity.INFO] == []


def test_rules_that_mirror_upstream_say_so_in_the_listing():
    mirrored = {rule.id for rule in RULES.values() if rule.upstream}
    assert mirrored == {rule for _f, rule, _t in REJECTED}
    assert "pkg/apis/apps/validation/validation.go (Kubernetes v1.36)" in RULES["APPS-SELECTOR"].summary
    assert RULES["DUP-OBJECT"].upstream is None


def test_storage_class_checks_against_the_target_environment(fixtures):
    docs = collect([fixtures / "sets/good.yaml"])  # standard (kind) and nfs-client
    aws = [f for f in check_documents(docs, "1.35", ENVIRONMENTS["aws"]) if f.rule == "STORAGE-CLASS"]
    assert [f.subject for f in aws] == ["StatefulSet/lab/db"]
    assert "is not a StorageClass of environment aws" in aws[0].message
    assert not [f for f in check_documents(docs, "1.35", ENVIRONMENTS["local"]) if f.severity > Severity.INFO]


def test_duplicates_in_separate_kustomizations_are_separate_sets(fixtures):
    text = (fixtures / "apps/good.yaml").read_text()
    base, again = (load_documents(text, fixtures / "a", rendered=True) for _ in range(2))
    overlay = load_documents(text, fixtures / "b", rendered=True)
    assert "DUP-OBJECT" not in {f.rule for f in check_documents(base + overlay, "1.35")}
    assert "DUP-OBJECT" in {f.rule for f in check_documents(base + again, "1.35")}


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("*/5 * * * *", None),
        ("0 0 ? * MON-FRI", None),
        ("@every 1h30m", None),
        ("@midnight", None),
        ("*/5 * * *", "expected exactly 5 fields, found 4: [*/5 * * *]"),
        ("0 0 * * * *", "expected exactly 5 fields, found 6: [0 0 * * * *]"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ],
)
def test_cron_schedules_parse_as_robfig_cron_does(schedule, problem):
    assert schedule_problem(schedule) == problem


@pytest.mark.parametrize(
    ("zone", "ok"),
    [("Etc/UTC", True), ("America/Argentina/Buenos_Aires", True), ("Local", False), ("", False)],
)
def test_time_zones(zone, ok):
    assert (time_zone_problem(zone) is None) is ok


def test_field_values_print_as_the_api_server_prints_them():
    assert [go_value(v) for v in (3, "x", True, {"b": 1, "a": "c"})] == [
        "3",
        '"x"',
        "true",
        '{"a":"c","b":1}',
    ]
    assert port_name("metrics") == []
    assert "must contain at least one letter (a-z)" in port_name("8080")
    assert label_key("example.com/app") == []
    assert label_key("a/b/c")[0].startswith("a valid label key")
