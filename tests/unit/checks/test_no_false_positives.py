"""No false positives: generated valid workloads, and valid upstream examples, pass ``infra check`` clean.

The property test builds workloads the way the API server's validation allows them (consistent selectors and
labels, unique container, port and volume names, probes on declared ports, mounts of declared volumes, rolling
update parameters that let a rollout progress, five-field schedules, HPA bounds) and asserts that no rule
reports an error or a warning. ``fixtures/upstream/`` holds examples from the Kubernetes documentation (see
its README), which a real API server accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.checks import Severity, check_documents
from infra.environments import ENVIRONMENTS
from infra.render import collect, load_documents
from tests.unit.checks.test_upstream_rules import NEW_RULES

UPSTREAM = Path(__file__).parent / "fixtures" / "upstream"
ZONES = ["Etc/UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]

dns_label = st.from_regex(r"[a-z]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True)
port_names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)
label_keys = st.from_regex(
    r"([a-z0-9]{1,8}\.example\.com/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?", fullmatch=True
)
label_values = st.from_regex(r"([A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?)?", fullmatch=True)


@st.composite
def containers(draw: st.DrawFn, names: list[str], volumes: list[str], *, job: bool = False) -> list[dict]:
    """Containers with unique names, unique port names per container, probes on their own ports."""
    result = []
    for name in names:
        ports_by_name = draw(st.dictionaries(port_names, st.integers(1, 65535), max_size=3))
        container: dict[str, Any] = {
            "name": name,
            "image": "registry.example.com/app:1.2.3",
            "resources": {"requests": {"cpu": f"{draw(st.integers(1, 900))}m", "memory": "64Mi"}},
        }
        if ports_by_name:
            container["ports"] = [{"name": n, "containerPort": p} for n, p in ports_by_name.items()]
        if not job:
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                if not draw(st.booleans()):
                    continue
                port = draw(st.sampled_from([*ports_by_name, *ports_by_name.values()] or [8080]))
                handler = draw(st.sampled_from(["httpGet", "tcpSocket"]))
                probe: dict[str, Any] = {
                    handler: {"port": port} | ({"path": "/"} if handler == "httpGet" else {})
                }
                probe["periodSeconds"] = draw(st.integers(1, 60))
                probe["successThreshold"] = draw(st.integers(1, 3)) if kind == "readinessProbe" else 1
                container[kind] = probe
        mounted = draw(st.lists(st.sampled_from(volumes), unique=True)) if volumes else []
        if mounted:
            container["volumeMounts"] = [{"name": v, "mountPath": f"/mnt/{v}"} for v in mounted]
        result.append(container)
    return result


@st.composite
def pod_templates(draw: st.DrawFn, labels: dict[str, str], *, job: bool = False) -> dict:
    names = draw(st.lists(dns_label, min_size=1, max_size=3, unique=True))
    volumes = draw(st.lists(dns_label, max_size=3, unique=True))
    spec: dict[str, Any] = {"containers": draw(containers(names, volumes, job=job))}
    if volumes:
        spec["volumes"] = [{"name": v, "emptyDir": {}} for v in volumes]
    if job:
        spec["restartPolicy"] = draw(st.sampled_from(["OnFailure", "Never"]))
    return {"metadata": {"labels": labels}, "spec": spec}


def _surge_pair(draw: st.DrawFn, *, exactly_one: bool) -> dict:
    value = st.one_of(st.integers(1, 5), st.integers(1, 100).map(lambda p: f"{p}%"))
    if exactly_one:
        return draw(
            st.sampled_from(
                [
                    {"maxSurge": 0, "maxUnavailable": draw(value)},
                    {"maxSurge": draw(value), "maxUnavailable": 0},
                ]
            )
        )
    return {"maxSurge": draw(st.one_of(st.just(0), value)), "maxUnavailable": draw(value)}


cron_minute = st.one_of(st.just("*"), st.integers(1, 59).map(lambda n: f"*/{n}"), st.integers(0, 59).map(str))
cron_hour = st.one_of(st.just("*"), st.integers(0, 23).map(str), st.just("9-17"))
cron_dow = st.sampled_from(["*", "MON-FRI", "0", "1,3,5", "SUN"])


@st.composite
def workload_sets(draw: st.DrawFn) -> list[dict]:
    """One valid workload with what it needs (a headless Service, an HPA target), in namespace lab."""
    name = draw(dns_label)
    labels = {"app": name} | draw(st.dictionaries(label_keys, label_values, max_size=2))
    meta = {"name": name, "namespace": "lab", "labels": labels}
    selector = {"matchLabels": {"app": name}}
    kind = draw(st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "HPA"]))
    if kind in ("Deployment", "HPA"):
        spec: dict[str, Any] = {"selector": selector, "template": draw(pod_templates(labels))}
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": _surge_pair(draw, exactly_one=False)}
        docs = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}]
        if kind == "HPA":
            low = draw(st.integers(1, 5))
            hpa_spec = {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": low,
                "maxReplicas": draw(st.integers(low, 20)),
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": draw(st.integers(1, 100)),
                            },
                        },
                    }
                ],
            }
            docs.append(
                {
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscaler",
                    "metadata": meta,
                    "spec": hpa_spec,
                }
            )
        return docs
    if kind == "StatefulSet":
        template = draw(pod_templates(labels))
        spec = {
            "serviceName": f"{name}-hl",
            "selector": selector,
            "template": template,
            "replicas": draw(st.integers(0, 5)),
        }
        if draw(st.booleans()):
            claim = draw(
                dns_label.filter(lambda c: c not in {v["name"] for v in template["spec"].get("volumes", [])})
            )
            template["spec"]["containers"][0].setdefault("volumeMounts", []).append(
                {"name": claim, "mountPath": "/data"}
            )
            spec["volumeClaimTemplates"] = [
                {
                    "metadata": {"name": claim},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": draw(st.sampled_from(["standard", "nfs-client"])),
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ]
        service = {"clusterIP": "None", "selector": {"app": name}, "ports": [{"name": "web", "port": 80}]}
        return [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"{name}-hl", "namespace": "lab"},
                "spec": service,
            },
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec},
        ]
    if kind == "DaemonSet":
        spec = {"selector": selector, "template": draw(pod_templates(labels))}
        if draw(st.booleans()):
            spec["updateStrategy"] = {
                "type": "RollingUpdate",
                "rollingUpdate": _surge_pair(draw, exactly_one=True),
            }
        return [{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": spec}]
    job_spec = {"template": draw(pod_templates(labels, job=True)), "backoffLimit": draw(st.integers(0, 6))}
    if kind == "Job":
        return [{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job_spec}]
    schedule = " ".join([draw(cron_minute), draw(cron_hour), "*", "*", draw(cron_dow)])
    cron_spec = {"schedule": schedule, "jobTemplate": {"spec": job_spec}}
    if draw(st.booleans()):
        cron_spec["timeZone"] = draw(st.sampled_from(ZONES))
    return [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": cron_spec}]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload_sets())
def test_valid_workloads_raise_no_findings(objects):
    docs = load_documents(yaml.safe_dump_all(objects), "generated.yaml")
    findings = check_documents(docs, "1.35", ENVIRONMENTS["local"])
    assert [f.line() for f in findings if f.severity > Severity.INFO] == []


UPSTREAM_EXAMPLES = sorted(p.name for p in UPSTREAM.glob("*.yaml"))


PLACEHOLDER_CLASSES = {  # classes the docs tell the reader to replace (see fixtures/upstream/README.md)
    "controllers-statefulset.yaml": "STORAGE-CLASS",
    "service-networking-minimal-ingress.yaml": "INGRESS-CLASS",
}


@pytest.mark.parametrize("example", UPSTREAM_EXAMPLES)
def test_upstream_examples_raise_no_findings_from_the_new_rules(example):
    """Each example alone: references to objects the docs create elsewhere are the older rules' business."""
    findings = check_documents(collect([UPSTREAM / example]), "1.35")
    reported = {f.rule for f in findings if f.rule in NEW_RULES and f.severity > Severity.INFO}
    assert reported == ({PLACEHOLDER_CLASSES[example]} if example in PLACEHOLDER_CLASSES else set())


def test_the_upstream_corpus_is_there():
    assert len(UPSTREAM_EXAMPLES) >= 10
