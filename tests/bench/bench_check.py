"""Throughput of ``infra check`` on a generated set of valid objects (a benchmark, not a test).

Run: ``.venv/bin/python tests/bench/bench_check.py [--objects 2000] [--repeat 3]``

Writes one YAML stream of realistic, clean workloads (Deployment + Service + HPA, StatefulSet + headless
Service + PVC template, Ingress, CronJob, ConfigMap: 8 objects per unit) and times

- the whole CLI (``python -m infra check FILE -q``: start-up, parse, schemas, rules), wall clock, best of N;
- the in-process check (``collect`` + ``check_documents``) after a warm-up, best of N, wall clock and CPU
  time (CPU time is steadier on a shared machine);
- each registered policy rule alone, so a slow rule shows up by name.

The budget for the rules is 2 ms per object; the figures are printed per object too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from infra.checks import RULES, check_documents  # noqa: E402
from infra.checks.model import DocSet  # noqa: E402
from infra.render import collect  # noqa: E402

PER_UNIT = 8
CPU_60 = {"type": "Utilization", "averageUtilization": 60}


def unit(i: int) -> list[dict[str, Any]]:
    """Eight valid objects that reference each other the way the labs' manifests do."""
    ns = f"bench-{i % 20}"
    app, db = f"web-{i}", f"db-{i}"
    labels = {"app.kubernetes.io/name": app}
    db_labels = {"app.kubernetes.io/name": db}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container = {
        "name": "app",
        "image": "nginx:1.27.3",
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "readinessProbe": probe,
        "livenessProbe": probe,
        "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}],
    }
    pod = {"containers": [container], "volumes": [{"name": "config", "configMap": {"name": app}}]}
    meta = {"namespace": ns}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": app, **meta}, "data": {"a": "b"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, **meta},
            "spec": {
                "selector": {"matchLabels": labels},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app, **meta},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": app, **meta},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": 1,
                "maxReplicas": 5,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": CPU_60}}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": db, **meta},
            "spec": {
                "serviceName": f"{db}-hl",
                "replicas": 1,
                "selector": {"matchLabels": db_labels},
                "template": {
                    "metadata": {"labels": db_labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "db",
                                "image": "mysql:8.0.40",
                                "ports": [{"name": "mysql", "containerPort": 3306}],
                                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}},
                                "readinessProbe": {"tcpSocket": {"port": 3306}},
                                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/mysql"}],
                            }
                        ]
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "standard",
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{db}-hl", **meta},
            "spec": {"clusterIP": "None", "selector": db_labels, "ports": [{"name": "mysql", "port": 3306}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": app, **meta},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": f"{app}.example.test",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": app, "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": f"report-{i}", **meta},
            "spec": {
                "schedule": "*/15 * * * *",
                "timeZone": "Europe/Berlin",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [
                                    {
                                        "name": "report",
                                        "image": "busybox:1.37.0",
                                        "command": ["sh", "-c", "date"],
                                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                                    }
                                ],
                            }
                        }
                    }
                },
            },
        },
    ]


def write_set(path: Path, objects: int) -> None:
    docs = [obj for i in range((objects + PER_UNIT - 1) // PER_UNIT) for obj in unit(i)][:objects]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def best(repeat: int, func, clock=time.perf_counter) -> float:
    """The fastest of ``repeat`` runs: the least disturbed by other load on the machine."""
    times = []
    for _ in range(repeat):
        started = clock()
        func()
        times.append(clock() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kube-version", default="1.35")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "set.yaml"
        write_set(path, args.objects)
        cli = [sys.executable, "-m", "infra", "check", str(path), "-q", "--kube-version", args.kube_version]
        first = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, check=False)
        last_line = (first.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"CLI: exit {first.returncode}: {last_line}")
        if first.returncode != 0:
            print(first.stdout[-3000:], first.stderr[-3000:], sep="\n")
        wall = best(args.repeat, lambda: subprocess.run(cli, cwd=ROOT, capture_output=True, check=False))
        docs = collect([path])
        check_documents(docs, args.kube_version)  # warm the schema caches
        run = lambda: check_documents(collect([path]), args.kube_version)  # noqa: E731
        total, cpu = best(args.repeat, run), best(args.repeat, run, time.process_time)
        docset = DocSet(docs, args.kube_version)
        per_rule = {
            rule.id: best(args.repeat, lambda rule=rule: list(rule.func(docset))) for rule in RULES.values()
        }
    n = len(docs)
    rules_total = sum(per_rule.values())
    print(f"objects: {n}")
    print(f"CLI wall clock (best of {args.repeat}): {wall:.2f} s = {wall / n * 1000:.2f} ms/object")
    print(f"in-process collect + check: {total:.2f} s = {total / n * 1000:.2f} ms/object")
    print(f"in-process collect + check, CPU time: {cpu:.2f} s = {cpu / n * 1000:.2f} ms/object")
    print(f"policy rules alone: {rules_total:.3f} s = {rules_total / n * 1000:.3f} ms/object")
    for rule_id, seconds in sorted(per_rule.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {rule_id:18} {seconds * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
