"""``infra plan``: everything that can be known offline about each environment, in seconds.

Per environment: render ``manifests/envs/<env>`` and check it against that environment's Kubernetes version
(:mod:`infra.checks`), and render its stack config (:data:`infra.renderers.PLANNERS`: kind config, kOps
spec, bastion user data) into ``.infra/<env>/plan/``. Once for all: ``ansible-playbook --syntax-check
playbooks/site.yml`` (:mod:`infra.ansible`). Problems become findings of the environment they belong to, so
one broken environment never hides another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from infra import ansible, paths
from infra.ansible import SITE_PLAYBOOK
from infra.checks import check_documents
from infra.checks.model import Finding, Severity
from infra.checks.registry import describe
from infra.environments import Environment
from infra.errors import InfraError
from infra.render import display_path, render_env
from infra.state import EnvState

if TYPE_CHECKING:
    from infra.renderers import EnvPlan

describe("RENDER", Severity.ERROR, "the environment's kustomize entry point renders and holds known kinds")
describe("ENVCONFIG", Severity.ERROR, "the environment's stack config (infra/envconfig/<env>.py) renders")
describe("ANSIBLE-SYNTAX", Severity.ERROR, "ansible-playbook --syntax-check passes on playbooks/site.yml")

# Environment name -> its offline plan; None: infra.renderers.PLANNERS, imported when a plan runs (it loads
# pydantic, which `infra --help` must not pay for). Tests install their own table here.
PLANNERS: Mapping[str, Callable[[], EnvPlan]] | None = None


def _planners() -> Mapping[str, Callable[[], EnvPlan]]:
    if PLANNERS is not None:
        return PLANNERS
    from infra.renderers import PLANNERS as real

    return real


@dataclass
class EnvResult:
    """What ``infra plan`` learned about one environment."""

    env: Environment
    objects: int | None = None  # rendered manifest objects (None: could not render)
    findings: list[Finding] = field(default_factory=list)
    creates: list[str] = field(default_factory=list)
    artifacts: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def _finding(
    rule: str, severity: Severity, message: str, hint: str, where: str, subject: str = "-"
) -> Finding:
    return Finding(rule, severity, message, hint, where, subject, order=-1)


def plan_environment(
    env: Environment, planners: Mapping[str, Callable[[], EnvPlan]] | None = None
) -> EnvResult:
    """Render and check one environment's manifests, then render its stack config (``planners``)."""
    started = time.perf_counter()
    result = EnvResult(env)
    entry = display_path(env.manifests)
    try:
        docs = render_env(env.name)
        result.objects = len(docs)
        result.findings.extend(check_documents(docs, env.kube_version, env))
    except InfraError as error:
        result.findings.append(
            _finding(
                "RENDER",
                Severity.ERROR,
                error.message,
                error.hint or "fix the entry point",
                entry,
                f"env/{env.name}",
            )
        )
    _plan_config(env, result, _planners() if planners is None else planners)
    result.seconds = time.perf_counter() - started
    return result


def _plan_config(env: Environment, result: EnvResult, planners: Mapping[str, Callable[[], EnvPlan]]) -> None:
    where = f"infra/envconfig/{env.name}.py"
    subject = f"env/{env.name}"
    planner = planners.get(env.name)
    if planner is None:
        result.findings.append(
            _finding(
                "ENVCONFIG",
                Severity.WARNING,
                f"no stack config planner for {env.name}: cluster config not rendered",
                "add a plan function to infra/renderers.py and name it in PLANNERS",
                where,
                subject,
            )
        )
        return
    try:
        env_plan = planner()
    except InfraError as error:
        result.findings.append(
            _finding(
                "ENVCONFIG", Severity.ERROR, error.message, error.hint or "fix the config", where, subject
            )
        )
        return
    result.creates = list(env_plan.creates)
    result.artifacts = write_artifacts(env, env_plan.artifacts)


def write_artifacts(env: Environment, artifacts: dict[str, str]) -> list[Path]:
    """Write rendered config under ``.infra/<env>/plan/`` (gitignored) for inspection."""
    folder = EnvState.of(env).plan
    written: list[Path] = []
    for name, text in sorted(artifacts.items()):
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"artifact name {name!r} is not a plain file name")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def syntax_check_playbooks(playbooks_dir: Path | None = None) -> list[Finding]:
    """``ansible-playbook --syntax-check site.yml``; a missing site.yml or a syntax error is a finding."""
    folder = playbooks_dir or paths.PLAYBOOKS_DIR
    site = folder / SITE_PLAYBOOK
    where = display_path(site)
    if not site.is_file():
        return [
            _finding(
                "ANSIBLE-SYNTAX",
                Severity.ERROR,
                f"{where} does not exist: the addons stage has no entry point",
                "add playbooks/site.yml importing one playbook per addon",
                where,
            )
        ]
    try:
        result = ansible.syntax_check(folder)
    except InfraError as error:
        return [_finding("ANSIBLE-SYNTAX", Severity.ERROR, error.message, error.hint or "", where)]
    if result.ok:
        return []
    lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines() if line.strip()]
    detail = next(
        (line for line in lines if line.lstrip("[").startswith("ERROR")), lines[-1] if lines else "no output"
    )
    origin = next((line for line in lines if line.startswith("Origin:")), None)
    if origin:
        detail += f" ({origin})"
    return [
        _finding(
            "ANSIBLE-SYNTAX",
            Severity.ERROR,
            f"syntax check failed: {detail}",
            f"run `ansible-playbook --syntax-check {SITE_PLAYBOOK}` in {display_path(folder)}",
            where,
        )
    ]
