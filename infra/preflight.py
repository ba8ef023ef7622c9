"""Prerequisites of ``infra up``, checked before anything is created.

Two kinds, named as such: what only the user can provide (local: a running Docker with memory for three
nodes and the ingress host ports free; aws: a stack config fit for a real ``up``, credentials, a region with
the configured zones), and what the toolkit provides itself (kubectl from Pipfile.lock, checked by version;
kind, helm and pulumi downloaded into ``.tools/bin`` when missing, pinned and checksum-verified). Every user
problem is reported at once, and while there is one the toolkit downloads nothing, so ``make up`` on a
machine without Docker stops within seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from infra import proc, tools
from infra.environments import get_environment
from infra.errors import InfraError, ToolMissingError

DOCKER_DOCS = "https://docs.docker.com/get-started/get-docker/"
# Downloaded into .tools/bin when missing (kubectl is not here: it comes with Pipfile.lock).
TOOLS_BY_ENV: dict[str, tuple[str, ...]] = {
    "local": ("kind", "helm", "pulumi"),
    "aws": ("helm", "pulumi"),
}
# What the user provides, said up front: a failing check names only what is wrong.
USER_PROVIDES: dict[str, str] = {
    "local": "a running Docker with about 6 GB of memory for it, and the ingress host ports "
    "(lab:httpPort/lab:httpsPort, 80 and 443 by default) free",
    "aws": "an AWS account's credentials, your own lab:sshCidr, and a region with the configured zones",
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


def aws_problems() -> list[Problem]:
    """Everything that stops the AWS stack from deploying, all at once: config, credentials, region and zones.

    A config that is only unfit for ``up`` (the placeholder SSH CIDR) still gives the region to check the
    credentials against; the zones are checked only with working credentials (they would fail the same way).
    """
    from infra import aws  # boto3 is only imported for the aws environment
    from infra.envconfig.aws import load_config

    problems: list[Problem] = []
    config = None
    try:
        config = load_config()
        config.check_deployable()  # e.g. the committed placeholder SSH CIDR
    except InfraError as exc:
        problems.append(Problem(f"AWS stack config ({exc.message})", exc.hint or "see stacks/aws/README.md"))
    api = aws.AwsApi(config.region if config else aws.default_region())
    try:
        api.caller_identity()
    except InfraError as exc:
        problems.append(Problem(f"AWS credentials ({exc.message})", exc.hint or "see stacks/aws/README.md"))
        return problems
    if config is not None:
        try:
            api.require_zones([subnet.zone for subnet in config.subnets])
        except InfraError as exc:
            problems.append(Problem(f"AWS region ({exc.message})", exc.hint or "see stacks/aws/README.md"))
    return problems


def local_problems() -> list[Problem]:
    """The local stack config is valid and a Docker daemon answers (the config first: it costs nothing)."""
    from infra.envconfig.local import load_config

    try:
        load_config()
    except InfraError as exc:
        return [Problem(f"local stack config ({exc.message})", exc.hint or "see stacks/local/README.md")]
    problem = docker_problem()
    return [problem] if problem else []


ENV_CHECKS: dict[str, Callable[[], list[Problem]]] = {"local": local_problems, "aws": aws_problems}


def _fail(message: str, problems: list[Problem], context: str = "") -> NoReturn:
    what = "; ".join(p.what for p in problems)
    how = "; ".join(dict.fromkeys(p.how for p in problems))
    raise ToolMissingError(f"{message}: {what}", how + context)


def _provided_by_the_toolkit(env: str) -> str:
    return ", ".join(["kubectl (Pipfile.lock)", *TOOLS_BY_ENV[env]])


def check(env: str, *, install: Callable[[str], object] = tools.ensure) -> list[str]:
    """Check every prerequisite of ``env``, then install the missing pinned tools; raise naming each problem.

    Returns the tools that are ready (kubectl first). The user's own prerequisites are checked before any
    download and reported together in one :class:`ToolMissingError`; a tool the toolkit cannot install is
    reported after the others are tried.
    """
    get_environment(env)
    problems = ENV_CHECKS[env]()
    if problems:
        context = (
            f" (what you provide for the {env} lab: {USER_PROVIDES[env]}; "
            f"the toolkit installs {_provided_by_the_toolkit(env)} itself)"
        )
        _fail(f"not ready for the {env} lab", problems, context)
    try:
        tools.kubectl_path()
    except ToolMissingError as exc:  # a broken .venv: nothing else is worth downloading
        problem = Problem(exc.message, exc.hint or tools.KUBECTL_FIX)
        _fail("the toolkit's own kubectl is not usable", [problem])
    ready = ["kubectl"]
    failures: list[Problem] = []
    for name in TOOLS_BY_ENV[env]:
        try:
            if tools.find(name) is None:
                install(name)
            ready.append(name)
        except ToolMissingError as exc:
            failures.append(Problem(exc.message, exc.hint or tools.TOOLS[name].docs))
    if failures:
        _fail("the toolkit could not install its pinned tools", failures)
    return ready
