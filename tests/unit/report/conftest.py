"""Fixtures of the report tests: a recorded run (series, JUnit report), and doctor and drift reports.

``fixtures/recorded-run.jsonl`` holds the series of one ``infra verify --env aws --slow`` run, modelled poll
by poll on the controllers (``fixtures/recorded_run.py`` says how, and writes it again);
``fixtures/verify-aws.xml`` is the JUnit report of the same run: most claims pass, ADD-3 fails (the NFS
export times out) and STS-5 is blocked by it.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.checks.model import Severity
from infra.doctor.registry import Finding
from infra.doctor.report import DoctorReport
from infra.gitops.drift import ADDED, CHANGED, DriftReport, ObjectDrift
from infra.kube import ObjectRef
from infra.probes.prerequisites import Prerequisite
from infra.series import Series, load
from infra.verify import Report, parse_junit

FIXTURES = Path(__file__).parent / "fixtures"
SERIES_FILE = FIXTURES / "recorded-run.jsonl"
JUNIT_FILE = FIXTURES / "verify-aws.xml"
GENERATED_AT = datetime(2026, 1, 1, 9, 14, 30, tzinfo=UTC)


@pytest.fixture
def recorded() -> Series:
    return load(SERIES_FILE)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    junit = tmp_path / "verify-aws.xml"
    shutil.copy(JUNIT_FILE, junit)
    parsed = parse_junit(junit, "aws")
    parsed.prerequisites = [
        Prerequisite("ADD-1", True, "APIService v1beta1.metrics.k8s.io Available", seconds=0.2),
        Prerequisite("ADD-3", False, "StorageClass nfs-client did not bind a PVC within 120s", seconds=120.5),
    ]
    parsed.causes = {
        "cluster": ["Pod kube-system/nfs-client-provisioner-5c9d ProvisioningFailed: mount.nfs timed out"]
    }
    return parsed


@pytest.fixture
def doctor() -> DoctorReport:
    finding = Finding(
        "PVC-PENDING",
        Severity.ERROR,
        "PersistentVolumeClaim stays Pending",
        "PersistentVolumeClaim/lab-addons/nfs-probe-7f3a",
        "lab-addons",
        "ProvisioningFailed x6: mount.nfs: Connection timed out",
        "the provisioner cannot mount the NFS export, so no volume is created",
        "check that the NFS server answers on 2049 from the nodes (security group, exports)",
    )
    return DoctorReport(
        [finding], source="aws (.infra/aws/kubeconfig)", counts={"Pod": 41, "Event": 212, "Node": 3}
    )


@pytest.fixture
def drift() -> DriftReport:
    deployment = ObjectRef("apps", "Deployment", "lab-ctl", "pi-web")
    return DriftReport(
        "aws",
        "aws (.infra/aws/kubeconfig)",
        96,
        [
            ObjectDrift(deployment, CHANGED, ("spec.replicas",), ("spec.replicas: 4 -> 2",)),
            ObjectDrift(
                deployment, ADDED, ("metadata.labels.debug",), note="the next reconcile removes them"
            ),
        ],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: renders a page in headless Chromium; skipped with the reason where it is missing"
    )
