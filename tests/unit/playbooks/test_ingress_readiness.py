"""ingress-nginx's readiness wait asks the ingress address on the inventory's port, run for real.

The role's ``probe.yml`` (imported by its main tasks) runs against a local HTTP server that answers like the
controller's default backend (404), with three hosts in one run: an inventory whose
``lab_ingress_http_port`` is the server's port (rootless Docker's 8080, say), one whose port has nothing
listening, and an older inventory without the port variables (80/443 then).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import yaml

WAIT = "Ingress NGINX | Wait for the ingress address to answer HTTP"
ASSERT = "Ingress NGINX | Assert the ingress address answers (ADD-2)"
PLAYBOOK = """\
- name: Ingress readiness wait on its own
  hosts: cluster
  gather_facts: false
  tasks:
    - name: Ingress NGINX | Run the readiness wait
      ansible.builtin.include_role:
        name: ingress_nginx
        tasks_from: probe.yml
"""


class DefaultBackend(BaseHTTPRequestHandler):
    """Answers every GET with 404, as ingress-nginx's default backend does; records path and Host."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:  # http.server's name for the GET handler
        self.seen.append((self.path, self.headers.get("Host", "")))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def backend() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), DefaultBackend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], DefaultBackend.seen
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wait_run(ansible: Any, backend: tuple[int, list], tmp_path_factory: pytest.TempPathFactory) -> Any:
    port, _ = backend
    closed = _closed_port()
    folder = tmp_path_factory.mktemp("ingress-readiness")
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory = ansible.write_inventory(
        folder / "inventory.yml",
        {
            "all": {
                "vars": {"lab_environment": "local", "lab_ingress_address": "127.0.0.1"},
                "children": {
                    "cluster": {
                        "hosts": {
                            "answering": {
                                **local,
                                "lab_ingress_http_port": port,
                                "lab_ingress_https_port": 8443,
                            },
                            "closed": {
                                **local,
                                "lab_ingress_http_port": closed,
                                "lab_ingress_https_port": 8443,
                            },
                            "older": dict(local),
                        }
                    }
                },
            }
        },
    )
    playbook = folder / "readiness.yml"
    playbook.write_text(PLAYBOOK)
    run = ansible.run(
        str(playbook), inventory, {"ingress_nginx_wait_retries": 1, "ingress_nginx_wait_delay": 0}
    )
    return run, port, closed


def test_the_wait_asks_the_inventory_port_and_passes(wait_run: Any, backend: tuple[int, list]) -> None:
    run, port, _ = wait_run
    assert run.tasks[WAIT]["answering"]["url"] == f"http://127.0.0.1:{port}/healthz"
    assert run.tasks[WAIT]["answering"]["status"] == 404  # the default backend counts: nginx answered
    assert run.tasks[ASSERT]["answering"].get("failed") is not True
    assert ("/healthz", f"127.0.0.1:{port}") in backend[1]
    assert run.failed("answering") == 0


def test_nothing_on_the_port_fails_naming_it(wait_run: Any) -> None:
    run, _, closed = wait_run
    result = run.tasks[ASSERT]["closed"]
    assert result["failed"] is True
    assert f"http://127.0.0.1:{closed}/ did not answer" in result["msg"]
    assert f"host ports {closed}/8443 must map to 80/443" in result["msg"]


def test_an_inventory_without_ports_means_80(wait_run: Any) -> None:
    run, _, _ = wait_run
    assert run.tasks[WAIT]["older"]["url"] == "http://127.0.0.1/healthz"


def test_the_role_defaults_read_the_inventory_ports(ansible: Any) -> None:
    defaults = yaml.safe_load(
        (ansible.playbooks / "roles" / "ingress_nginx" / "defaults" / "main.yml").read_text()
    )
    assert defaults["ingress_nginx_probe_http_port"] == "{{ lab_ingress_http_port | default(80) }}"
    assert defaults["ingress_nginx_probe_https_port"] == "{{ lab_ingress_https_port | default(443) }}"


def test_main_tasks_import_the_wait(ansible: Any) -> None:
    tasks = yaml.safe_load((ansible.playbooks / "roles" / "ingress_nginx" / "tasks" / "main.yml").read_text())
    assert {"ansible.builtin.import_tasks": "probe.yml"} in [
        {k: v for k, v in t.items() if k != "name"} for t in tasks
    ]
