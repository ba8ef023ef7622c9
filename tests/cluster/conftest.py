"""The ``cluster`` tier: tests against a real, throwaway Kubernetes control plane (see plane.py).

Run it with ``make test-cluster``. It needs ``KUBEBUILDER_ASSETS`` (the envtest convention: a directory with
``etcd`` and ``kube-apiserver``, here also kube-controller-manager, kube-scheduler, kubemark and kubectl).
Without it every test here skips with the reason and where to get the binaries; with it, a plane that cannot
start fails the run -- a broken tier must not pass as skipped.

One plane serves the whole session (``plane``); tests share it, so each works in its own namespace
(``namespace``). ``make test`` never gets here: ``testpaths`` is tests/unit, and the fixture lives in this
directory only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

# plane.py sits beside this file; pytest's importlib mode puts no test directory on sys.path.
sys.path.insert(0, str(Path(__file__).parent))

from plane import HOW_TO_GET_BINARIES, ControlPlane, PlaneError, assets_from_env
from realnode import HOW_TO_GET_PACKAGES, RealNode, missing_prerequisites

HERE = Path(__file__).parent


def _in_tier(item: pytest.Item) -> bool:
    return item.path.is_relative_to(HERE)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "node_fault: stops the real node's kubelet; runs after every other test of the tier"
    )


def _order(item: pytest.Item) -> tuple[bool, bool]:
    """Hollow-node tests first, then real-node tests, then the ones that break the real node."""
    real = _in_tier(item) and "real_node" in getattr(item, "fixturenames", ())
    return real, real and item.get_closest_marker("node_fault") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``cluster``; skip them all, with the reason, without binaries.

    This hook sees the whole session's items (tests/unit too, when both are collected): only ours change.
    """
    skip = None
    if assets_from_env() is None:
        skip = pytest.mark.skip(reason=f"no control-plane binaries: {HOW_TO_GET_BINARIES}")
    for item in items:
        if _in_tier(item):
            item.add_marker(pytest.mark.cluster)
            if skip is not None:
                item.add_marker(skip)
    # Real-node tests last: the node (and its NotReady spell) must not change what the hollow-node tests see.
    items.sort(key=_order)


def _say(config: pytest.Config, line: str) -> None:
    """A line on the terminal, past pytest's output capture (fixture output is otherwise swallowed)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line(line)


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    """A CI timeout's SIGTERM unwinds like Ctrl-C, so the plane's teardown still stops every process."""
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """The running control plane: kind's shape (1 control plane + 2 hollow workers), admin kubeconfig."""
    if assets_from_env() is None:  # only reachable when a test outside this tier asks for it
        pytest.skip(f"no control-plane binaries: {HOW_TO_GET_BINARIES}")
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        control_plane = ControlPlane()
    except PlaneError as error:  # KUBEBUILDER_ASSETS is set but unusable: fail, do not skip
        pytest.fail(f"the control plane cannot start: {error}", pytrace=False)
    try:
        control_plane.start()
    except PlaneError as error:
        pytest.fail(
            f"the control plane did not start: {error} (run directory kept: {control_plane.dir})",
            pytrace=False,
        )
    except BaseException:  # Ctrl-C while starting: start() stopped everything; say where the logs are
        _say(request.config, f"control plane: start interrupted; logs kept in {control_plane.dir}")
        raise
    _say(
        request.config,
        f"control plane ready in {control_plane.ready_seconds:.1f} s at {control_plane.server} "
        f"({len(control_plane.node_names)} hollow nodes, run directory {control_plane.dir})",
    )
    failed_before = request.session.testsfailed
    try:
        yield control_plane
    finally:
        # Keep the logs of a session in which something failed; remove them otherwise.
        kept = control_plane.close(keep=request.session.testsfailed > failed_before)
        if kept is not None:
            _say(request.config, f"control plane: a test failed; logs and data kept in {kept}")


@pytest.fixture
def namespace(plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting for its finalizers)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", name)
    # Pods need the namespace's default ServiceAccount, which the controller manager adds a moment later.
    deadline = time.monotonic() + 30
    while plane.has["kube-controller-manager"] and not plane.exists(
        f"/api/v1/namespaces/{name}/serviceaccounts/default"
    ):
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {name}: no default ServiceAccount after 30 s", pytrace=False)
        time.sleep(0.2)
    try:
        yield name
    finally:
        plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


@pytest.fixture(scope="session")
def real_node(plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[RealNode]:
    """One real kubelet node (``realnode-0``, see realnode.py) in the session's plane, for pods that run.

    Without root or the node packages its tests skip with what is missing; with ``CI`` set they fail
    instead (CI installs the packages: a real-pod test that skips there is a broken tier).
    """
    missing = missing_prerequisites(plane.assets)
    if missing:
        message = f"no real node: missing {', '.join(missing)}; {HOW_TO_GET_PACKAGES}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    node = RealNode(plane)
    try:
        node.start()
    except PlaneError as error:
        pytest.fail(f"the real node did not start: {error} (run directory kept: {node.dir})", pytrace=False)
    _say(request.config, f"real node {node.name} Ready in {node.ready_seconds:.1f} s ({node.timings})")
    failed_before = request.session.testsfailed
    try:
        yield node
    finally:
        traces = node.close(keep=request.session.testsfailed > failed_before)
        if traces:
            pytest.fail(f"the real node left traces on this host: {'; '.join(traces)}", pytrace=False)
