"""PersistentVolumeClaims that do not bind, and why: no such StorageClass, no provisioner, or (benign) a
``WaitForFirstConsumer`` class waiting for its first pod.

Events of the persistentvolume-controller, as it writes them: ``ProvisioningFailed``
(``storageclass.storage.k8s.io "fast" not found``), ``WaitForFirstConsumer`` ("waiting for first consumer to
be created before binding"), ``ExternalProvisioning`` ("waiting for a volume to be created ... by external
provisioner ..."), ``FailedBinding`` ("no persistent volumes available for this claim and no storage class is
set").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra.checks.model import Severity, as_list, dig
from infra.doctor.registry import Hit, detector
from infra.doctor.snapshot import Snapshot, event_text, name_of, namespace_of

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
PVC_REASONS = ("ProvisioningFailed", "ExternalProvisioning", "FailedBinding", "WaitForFirstConsumer")


def default_class(snapshot: Snapshot) -> dict[str, Any] | None:
    return next(
        (
            sc
            for sc in snapshot.of_kind("StorageClass")
            if str(dig(sc, "metadata", "annotations", DEFAULT_CLASS)).lower() == "true"
        ),
        None,
    )


def consumers(snapshot: Snapshot, pvc: dict[str, Any]) -> list[dict[str, Any]]:
    """Pods in the claim's namespace that mount it."""
    return [
        pod
        for pod in snapshot.pods_in(namespace_of(pvc))
        if any(
            dig(volume, "persistentVolumeClaim", "claimName") == name_of(pvc)
            for volume in as_list(dig(pod, "spec", "volumes"))
        )
    ]


def _available_pvs(snapshot: Snapshot, class_name: str) -> int:
    return sum(
        1
        for pv in snapshot.of_kind("PersistentVolume")
        if dig(pv, "status", "phase") == "Available"
        and (dig(pv, "spec", "storageClassName") or "") == class_name
    )


@detector(
    "PVC-PENDING",
    Severity.ERROR,
    "a PersistentVolumeClaim that does not bind: missing StorageClass, no provisioner, or waiting for a "
    "consumer",
    fix="name an existing StorageClass with a running provisioner, or pre-create a matching PersistentVolume",
    needs=("PersistentVolumeClaim", "StorageClass", "Event"),
)
def pvc_pending(snapshot: Snapshot) -> Iterator[Hit]:
    for pvc in snapshot.of_kind("PersistentVolumeClaim"):
        if dig(pvc, "status", "phase") != "Pending":
            continue
        events = snapshot.events_for(pvc, *PVC_REASONS)
        seen = f"phase Pending; event {event_text(events[-1])}" if events else "phase Pending, no events"
        yield _diagnose(snapshot, pvc, seen, events[-1] if events else None)


def _diagnose(snapshot: Snapshot, pvc: dict[str, Any], seen: str, last: dict[str, Any] | None) -> Hit:
    spec_class = dig(pvc, "spec", "storageClassName")
    if spec_class is None:
        default = default_class(snapshot)
        if default is None:
            return Hit(
                pvc,
                seen,
                "the claim names no storageClassName and the cluster has no default StorageClass: only a "
                "pre-created PersistentVolume without a class can bind it",
                "set spec.storageClassName to an existing class (kubectl get storageclass), or mark one "
                "default",
            )
        spec_class = name_of(default)
    if spec_class == "":
        return Hit(
            pvc,
            seen,
            f'storageClassName "" asks for static binding, and {_available_pvs(snapshot, "")} Available '
            "PersistentVolume(s) without a class fit",
            "create a PersistentVolume that matches the claim's size and access modes, or name a "
            "StorageClass",
        )
    sc = snapshot.get("StorageClass", "", str(spec_class))
    if sc is None:
        names = ", ".join(name_of(s) for s in snapshot.of_kind("StorageClass")) or "none"
        return Hit(
            pvc,
            seen,
            f"StorageClass {spec_class} does not exist (classes: {names}): nothing will ever provision the "
            "claim",
            f"set spec.storageClassName to an existing class ({names}); the field is immutable, so "
            "recreate the "
            "claim",
        )
    provisioner = str(dig(sc, "provisioner") or "")
    waits = dig(sc, "volumeBindingMode") == "WaitForFirstConsumer"
    pods = consumers(snapshot, pvc)
    if provisioner == NO_PROVISIONER:
        return Hit(
            pvc,
            seen,
            f"StorageClass {spec_class} has no provisioner ({NO_PROVISIONER}): only pre-created "
            "PersistentVolumes "
            f"of that class bind, and {_available_pvs(snapshot, str(spec_class))} is/are Available",
            f"create a PersistentVolume of class {spec_class} that fits the claim, or use a dynamic class",
            Severity.INFO if waits and not pods else None,
        )
    if waits and not pods:
        return Hit(
            pvc,
            seen,
            f"StorageClass {spec_class} binds WaitForFirstConsumer: the claim stays Pending until a pod that "
            "uses it is scheduled; this is expected, not an error",
            "nothing to fix: create the pod that mounts the claim",
            Severity.INFO,
        )
    if waits and all(not dig(p, "spec", "nodeName") for p in pods):
        names = ", ".join(name_of(p) for p in pods)
        return Hit(
            pvc,
            seen,
            f"StorageClass {spec_class} binds WaitForFirstConsumer and its pod(s) {names} are not "
            "scheduled yet: "
            "the claim waits for the scheduler",
            f"fix the scheduling of {names} (see its POD-* findings)",
            Severity.INFO,
        )
    reason = (last or {}).get("reason")
    if reason == "ProvisioningFailed":
        return Hit(
            pvc,
            seen,
            f"provisioner {provisioner} tried and failed: the message says why (capacity, parameters, "
            "credentials)",
            f"fix what the {provisioner} error names, then the claim retries by itself",
        )
    return Hit(
        pvc,
        seen,
        f"no volume is being provisioned: provisioner {provisioner} of StorageClass {spec_class} is not "
        "running "
        "or not registered",
        f"install or start the {provisioner} provisioner (kubectl get pods -A | grep -i provisioner; "
        "kubectl get csidrivers)",
    )
