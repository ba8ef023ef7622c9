"""API versions the Kubernetes API server stopped serving, from the Deprecated API Migration Guide.

Source: https://kubernetes.io/docs/reference/using-api/deprecation-guide/ ("Removed APIs by release"). Each
entry: (apiVersion, kind or ``*`` for every kind of that version) -> (removed in, replacement). The schema
bundle has no schema for these, so without this table they would surface as an "unknown kind".
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version


@dataclass(frozen=True)
class Removal:
    removed_in: str  # Kubernetes minor that stopped serving it
    replacement: str  # apiVersion to use instead, or what replaces the feature

    def removed_by(self, kube_version: str) -> bool:
        return Version(kube_version.removeprefix("v")) >= Version(self.removed_in)


_R = Removal
REMOVED_APIS: dict[tuple[str, str], Removal] = {
    # v1.32
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): _R("1.32", "flowcontrol.apiserver.k8s.io/v1"),
    # v1.29
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): _R("1.29", "flowcontrol.apiserver.k8s.io/v1"),
    # v1.27
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): _R("1.27", "storage.k8s.io/v1"),
    # v1.26
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): _R("1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): _R("1.26", "autoscaling/v2"),
    # v1.25
    ("batch/v1beta1", "CronJob"): _R("1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): _R("1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): _R("1.25", "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): _R("1.25", "autoscaling/v2"),
    ("policy/v1beta1", "PodDisruptionBudget"): _R("1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): _R("1.25", "Pod Security Admission (namespace labels), no API"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): _R("1.25", "node.k8s.io/v1"),
    # v1.22
    ("admissionregistration.k8s.io/v1beta1", "*"): _R("1.22", "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): _R("1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "APIService"): _R("1.22", "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", "TokenReview"): _R("1.22", "authentication.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "*"): _R("1.22", "authorization.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"): _R("1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease"): _R("1.22", "coordination.k8s.io/v1"),
    ("extensions/v1beta1", "Ingress"): _R("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): _R("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): _R("1.22", "networking.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): _R("1.22", "rbac.authorization.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): _R("1.22", "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIDriver"): _R("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSINode"): _R("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "StorageClass"): _R("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"): _R("1.22", "storage.k8s.io/v1"),
    # v1.16
    ("extensions/v1beta1", "NetworkPolicy"): _R("1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): _R("1.16", "policy/v1beta1, itself removed in 1.25"),
    ("extensions/v1beta1", "DaemonSet"): _R("1.16", "apps/v1"),
    ("extensions/v1beta1", "Deployment"): _R("1.16", "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet"): _R("1.16", "apps/v1"),
    ("apps/v1beta1", "*"): _R("1.16", "apps/v1"),
    ("apps/v1beta2", "*"): _R("1.16", "apps/v1"),
}


def removal(api_version: str, kind: str) -> Removal | None:
    return REMOVED_APIS.get((api_version, kind)) or REMOVED_APIS.get((api_version, "*"))
