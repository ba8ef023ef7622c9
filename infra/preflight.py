"""Prerequisites of ``infra up``, checked before anything is created.

The stack config is validated first (a bad value stops here, before anything is created). Docker (local)
and AWS credentials (aws) are the user's; kubectl, kind, helm and pulumi are installed
into ``.tools/bin`` when missing (pinned, checksum-verified). When the environment's own prerequisite is
missing the toolkit downloads nothing, so ``make up`` on a machine without Docker stops within seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra import proc, tools
from infra.environments import get_environment
from infra.errors import InfraError, ToolMissingError

DOCKER_DOCS = "https://docs.docker.com/get-started/get-docker/"
TOOLS_BY_ENV: dict[str, tuple[str, ...]] = {
    "local": ("kind", "kubectl", "helm", "pulumi"),
    "aws": ("kubectl", "helm", "pulumi"),
}


@dataclass(frozen=True)
class Problem:
    what: str  # what is missing, with what was seen
    how: str  # how to get it


def docker_problem() -> Problem | None:
    """None when a Docker daemon answers; otherwise what is wrong and how to fix it."""
    if tools.find("docker") is None:
        return Problem("docker (the CLI is not installed)", f"install Docker and start it: {DOCKER_DOCS}")
    try:
        result = proc.run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=15)
    except InfraError as exc:  # timed out: a daemon that does not answer
        return Problem(
            f"docker daemon ({exc.message})", "start Docker (Docker Desktop, or `systemctl start docker`)"
        )
    if not result.ok or not result.stdout.strip():
        seen = (result.stderr or result.stdout).strip().splitlines()
        detail = seen[-1] if seen else f"exit {result.returncode}"
        return Problem(
            f"docker daemon (not reachable: {detail})",
            f"start Docker, or install it: {DOCKER_DOCS}; check with `docker info`",
        )
    return None


def aws_problem() -> Problem | None:
    """None when the AWS stack can deploy: config fit for a real ``up``, credentials, region and zones."""
    from infra import aws  # boto3 is only imported for the aws environment
    from infra.envconfig.aws import load_config

    try:
        config = load_config()
        config.check_deployable()  # e.g. the committed placeholder SSH CIDR
    except InfraError as exc:
        return Problem(f"AWS stack config ({exc.message})", exc.hint or "see stacks/aws/README.md")
    api = aws.AwsApi(config.region)
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        ("AWS credentials", api.caller_identity),
        ("AWS region", lambda: api.require_zones([subnet.zone for subnet in config.subnets])),
    )
    for label, check in checks:
        try:
            check()
        except InfraError as exc:
            return Problem(f"{label} ({exc.message})", exc.hint or "see stacks/aws/README.md")
    return None


def local_problem() -> Problem | None:
    """None when the local stack config is valid and a Docker daemon answers."""
    from infra.envconfig.local import load_config

    try:
        load_config()
    except InfraError as exc:
        return Problem(f"local stack config ({exc.message})", exc.hint or "see stacks/local/README.md")
    return docker_problem()


ENV_CHECKS: dict[str, Callable[[], Problem | None]] = {"local": local_problem, "aws": aws_problem}


def check(env: str, *, install: Callable[[str], object] = tools.ensure) -> list[str]:
    """Check every prerequisite of ``env``; install missing tools; raise naming everything missing.

    Returns the tools that are ready. Raises :class:`ToolMissingError` with one message naming each
    missing prerequisite and how to get it.
    """
    get_environment(env)
    problems: list[Problem] = []
    base = ENV_CHECKS[env]()
    if base is not None:
        problems.append(base)
    ready: list[str] = []
    for name in TOOLS_BY_ENV[env]:
        if tools.find(name) is not None:
            ready.append(name)
        elif problems:  # something is already missing: say what else is, but spend no time downloading
            tool = tools.TOOLS[name]
            problems.append(Problem(f"{name} {tool.version}", "missing tools are installed by `make up`"))
        else:
            try:
                install(name)
                ready.append(name)
            except ToolMissingError as exc:
                problems.append(Problem(exc.message, exc.hint or tools.TOOLS[name].docs))
    if problems:
        missing = "; ".join(p.what for p in problems)
        how = "; ".join(dict.fromkeys(p.how for p in problems))
        raise ToolMissingError(f"missing prerequisites for the {env} environment: {missing}", how)
    return ready
