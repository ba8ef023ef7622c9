"""Driving Ansible: the addons playbook (``infra up``'s addons stage) and its syntax check (``infra plan``).

The Ansible counterpart of :mod:`infra.pulumi` and :mod:`infra.kube`: it builds the command lines and runs
them through :func:`infra.proc.run`, and nothing else; what a failure means for the user is said by the
caller (a stage error, a plan finding).
"""

from __future__ import annotations

import sys
from pathlib import Path

from infra import paths, proc

SITE_PLAYBOOK = "site.yml"
# Quiet warnings that say nothing about the playbooks (no inventory given to a syntax check, localhost only).
SYNTAX_CHECK_ENV = {"ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False"}


def ansible_playbook() -> str:
    """The project's ansible-playbook (beside this Python: the project venv), else whatever is on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.is_file() else "ansible-playbook"


def site_command(inventory: Path, kubeconfig: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment of ``ansible-playbook playbooks/site.yml -i <inventory>`` on one cluster.

    ``KUBECONFIG`` and ``K8S_AUTH_KUBECONFIG`` (the kubernetes.core modules) name the environment's own
    kubeconfig, so no addon lands on whatever cluster the user's shell points at.
    """
    argv = [ansible_playbook(), str(paths.PLAYBOOKS_DIR / SITE_PLAYBOOK), "-i", str(inventory)]
    environment = {
        "ANSIBLE_CONFIG": str(paths.PLAYBOOKS_DIR / "ansible.cfg"),
        "KUBECONFIG": str(kubeconfig),
        "K8S_AUTH_KUBECONFIG": str(kubeconfig),
    }
    return argv, environment


def run_site(inventory: Path, kubeconfig: Path, *, stream: bool = True) -> proc.Result:
    """Apply every addon (idempotent roles); a failure raises with the hint to re-run one role alone."""
    argv, environment = site_command(inventory, kubeconfig)
    return proc.run(
        argv,
        env=environment,
        cwd=paths.PLAYBOOKS_DIR,
        capture=not stream,
        hint="read the Ansible output above; one addon alone: "
        f"`ansible-playbook playbooks/site.yml -i {inventory} --tags <role>`",
    )


def syntax_check(playbooks_dir: Path) -> proc.Result:
    """``ansible-playbook --syntax-check site.yml`` in ``playbooks_dir``; the result, whatever its exit."""
    return proc.run(
        [ansible_playbook(), "--syntax-check", SITE_PLAYBOOK],
        cwd=playbooks_dir,
        env=dict(SYNTAX_CHECK_ENV),
        check=False,
        timeout=120,
    )
