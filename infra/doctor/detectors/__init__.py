"""The detector families; importing this package registers every detector in ``DETECTORS``."""

from __future__ import annotations

from infra.doctor.detectors import autoscaling, network, nodes, pods, storage, workloads

__all__ = ["autoscaling", "network", "nodes", "pods", "storage", "workloads"]
