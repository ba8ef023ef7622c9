"""``infra plan``: everything that can be known offline about each environment, in seconds.

Per environment: render ``manifests/envs/<env>`` and check it against that environment's Kubernetes version,
and render its stack config (``infra.envconfig.<env>.plan()``: kind config, kOps spec) into
``.infra/<env>/plan/``. Once for all: ``ansible-playbook --syntax-check playbooks/site.yml``.
Problems become findings of the environment they belong to, so one broken environment never hides another.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from infra import paths, proc
from infra.checks import check_documents
from infra.checks.model import Finding, Severity
from infra.checks.registry import describe
from infra.environments import Environment
from infra.errors import InfraError
from infra.planning import EnvPlan
from infra.render import display_path, render_env
from infra.state import EnvState

describe("RENDER", Severity.ERROR, "the environment's kustomize entry point renders and holds known kinds")
describe("ENVCONFIG", Severity.ERROR, "the environment's stack config (infra/envconfig/<env>.py) renders")
describe("ANSIBLE-SYNTAX", Severity.ERROR, "ansible-playbook --syntax-check passes on playbooks/site.yml")

SITE_PLAYBOOK = "site.yml"
ENVCONFIG_PACKAGE = "infra.envconfig"  # tests point it at a package of fake configs


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


def plan_environment(env: Environment) -> EnvResult:
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
    _plan_config(env, result)
    result.seconds = time.perf_counter() - started
    return result


def _plan_config(env: Environment, result: EnvResult) -> None:
    module_name = f"{ENVCONFIG_PACKAGE}.{env.name}"
    where = f"infra/envconfig/{env.name}.py"
    subject = f"env/{env.name}"
    try:
        spec = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:  # the parent package itself is missing
        spec = None
    if spec is None:
        result.findings.append(
            _finding(
                "ENVCONFIG",
                Severity.WARNING,
                f"no stack config module {module_name}: cluster config not rendered",
                f"add {where} with plan() -> infra.planning.EnvPlan",
                where,
                subject,
            )
        )
        return
    module = importlib.import_module(module_name)
    planner = getattr(module, "plan", None)
    if not callable(planner):
        result.findings.append(
            _finding(
                "ENVCONFIG",
                Severity.WARNING,
                f"{module_name} has no plan(): cluster config not rendered",
                "add plan() -> infra.planning.EnvPlan",
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
    if not isinstance(env_plan, EnvPlan):
        raise TypeError(f"{module_name}.plan() returned {type(env_plan).__name__}, not EnvPlan")
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


def ansible_playbook() -> str:
    """``ansible-playbook`` of the running interpreter's environment (the project venv), else from PATH."""
    sibling = Path(sys.executable).parent / "ansible-playbook"
    return str(sibling) if sibling.is_file() else "ansible-playbook"


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
        result = proc.run(
            [ansible_playbook(), "--syntax-check", SITE_PLAYBOOK],
            cwd=folder,
            env={"ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False"},
            check=False,
            timeout=120,
        )
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
