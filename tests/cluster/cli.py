"""The ``infra`` CLI run against the plane as a user runs it: ``.venv/bin/infra`` in a subprocess.

Each run gets the test's own state folder (``INFRA_STATE_DIR``: ``<env>/kubeconfig`` and ``outputs.json``, see
``ControlPlane.env_state``) and a fake ``HOME``, and none of the caller's ``KUBECONFIG``, ``INFRA_*`` or
``GITHUB_STEP_SUMMARY``: nothing of the developer's machine is read or written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plane import ControlPlane

BIN = Path(sys.executable).parent
INFRA = BIN / "infra"
HOST = "127-0-0-1.nip.io"  # the lab's ingress host in the state folders written here
DROPPED = ("KUBECONFIG", "HOME", "GITHUB_STEP_SUMMARY")
# The namespaces the local lab creates (manifests/envs/local).
LAB_NAMESPACES = ("lab-tls", "lab-sts", "lab-mysql", "lab-qos", "lab-hpa", "lab-ctl", "lab-ctl-peer")


@dataclass
class Cli:
    plane: ControlPlane
    state: Path
    home: Path

    @classmethod
    def for_env(cls, plane: ControlPlane, root: Path, env: str = "local") -> Cli:
        """A state folder for ``env`` under ``root`` that names this plane as the environment's cluster."""
        plane.env_state(root / "state", env, HOST)
        (root / "home").mkdir(exist_ok=True)
        return cls(plane, root / "state", root / "home")

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in DROPPED and not k.startswith("INFRA_")}
        base["PATH"] = os.pathsep.join([str(BIN), base.get("PATH", "")])
        return {
            **base,
            "INFRA_STATE_DIR": str(self.state),
            "HOME": str(self.home),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **extra,
        }

    def infra(self, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(INFRA), *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def timed(self, *args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        done = self.infra(*args, timeout=timeout)
        return done, time.monotonic() - started

    def get(self, *args: str) -> dict[str, Any]:
        return json.loads(self.plane.kubectl("get", *args, "-o", "json").stdout)

    def exists(self, *args: str) -> bool:
        return bool(self.plane.kubectl("get", *args, "--ignore-not-found", "-o", "name").stdout.strip())

    def remove_lab(self, *, wait: bool) -> None:
        """Delete the lab's namespaces (and so everything in them); ``wait``: until they are gone."""
        self.plane.kubectl(
            "delete",
            "namespace",
            *LAB_NAMESPACES,
            "--ignore-not-found",
            f"--wait={str(wait).lower()}",
            timeout=120,
        )

    def report(self, env: str = "local") -> dict[str, tuple[str, str]]:
        """Claim -> (result, detail), from the Markdown summary the last ``infra verify`` wrote."""
        rows = {}
        for line in (self.state / "reports" / f"verify-{env}.md").read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if len(cells) == 5 and "-" in cells[0] and cells[0][:3].isupper():
                detail = re.sub(r"^\[[^\]]*\] ", "", cells[4])  # without the case's parameter: "[https-200] "
                rows[cells[0]] = (cells[1].split()[-1], detail)
        return rows


def junit_cases(junit: Path) -> dict[str, tuple[str, float, str]]:
    """Test name -> (outcome, seconds, message) from a pytest JUnit report."""
    cases = {}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own pytest run's report
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome, message = tag, found.get("message", "")
        cases[case.get("name", "")] = (outcome, float(case.get("time", 0)), message)
    return cases
