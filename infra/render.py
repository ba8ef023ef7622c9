"""Turn paths into Kubernetes objects: YAML files, directories, and kustomizations.

Everything ``infra check`` and ``infra plan`` look at comes through :func:`collect` or :func:`render_env`,
so each object keeps where it came from (file or kustomization directory, index in the stream, line) and a
finding can point at it. Kustomizations are rendered by ``kubectl kustomize`` (the same kustomize that
``kubectl apply -k`` uses), never re-implemented.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra import proc
from infra.environments import get_environment
from infra.errors import InfraError
from infra.kube import KUBECTL_ENV

# libyaml's loader when PyYAML was built with it (its wheels are): several times faster on rendered streams
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MERGE_TAG = "tag:yaml.org,2002:merge"


class KeyCheckingLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, recording mapping keys written twice (PyYAML would silently keep the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != MERGE_TAG:
                key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append((key_node.value, line, seen[key]))
                seen.setdefault(key, line)
        return super().construct_mapping(node, deep)


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Document:
    """One Kubernetes object and where it came from.

    ``source`` is the file, or the kustomization directory for rendered objects; ``index`` is the document's
    position in that file or rendered stream (0-based, after ``kind: List`` expansion counts as its parent);
    ``line`` is the 1-based line where the document starts in ``source`` (None for rendered output, whose
    lines are not the user's).
    """

    source: Path
    index: int
    obj: dict[str, Any] = field(compare=False)
    line: int | None = None
    rendered: bool = False
    # mapping keys written twice in this document, as (key, line of the later one, line of the earlier one):
    # YAML keeps only the last value silently; kubectl and kustomize reject the file
    duplicate_keys: tuple[tuple[str, int, int], ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        """The namespace as written (None when the manifest leaves it to the apply context)."""
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def where(self) -> str:
        """``path#doc`` as printed in findings (path relative to the working directory when under it)."""
        return f"{display_path(self.source)}#{self.index}"


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def is_kustomization_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


def is_component(path: Path) -> bool:
    """A kustomization directory whose file says ``kind: Component``."""
    for name in KUSTOMIZATION_FILES:
        if (path / name).is_file():
            try:
                data = yaml.safe_load((path / name).read_text(encoding="utf-8"))
            except (yaml.YAMLError, OSError, UnicodeDecodeError):
                return False  # kustomize reports it when rendering
            return isinstance(data, dict) and data.get("kind") == "Component"
    return False


def kustomize(path: Path | str) -> str:
    """Render a kustomization directory with ``kubectl kustomize`` and return the YAML stream."""
    result = proc.run(
        ["kubectl", "kustomize", str(path)],
        env=KUBECTL_ENV,  # a user's kuberc must not change what is rendered
        check=False,
        hint="kubectl (with built-in kustomize) is needed to render kustomizations",
    )
    if not result.ok:
        detail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:]) or "no output"
        raise InfraError(
            f"kustomize could not render {display_path(Path(path))}: {detail}",
            "fix the kustomization (try `kubectl kustomize " + str(path) + "`)",
        )
    return result.stdout


def load_documents(text: str, source: Path | str, *, rendered: bool = False) -> list[Document]:
    """Parse a YAML stream (PyYAML safe loader) into documents; skip empty ones, expand ``kind: List``.

    Unparsable YAML or a document that is not a Kubernetes object raises :class:`InfraError` naming the file
    and line.
    """
    source = Path(source)
    docs: list[Document] = []
    # kustomize already rejects duplicate keys in what it renders; plain files are checked here
    loader = SAFE_LOADER(text) if rendered else KeyCheckingLoader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else None
            data = loader.construct_document(node) if node is not None else None
            if data is None:
                continue
            duplicates = tuple(getattr(loader, "duplicates", ()))
            if duplicates:
                loader.duplicates = []
            for obj in _expand(data, source, line):
                docs.append(Document(source, index, obj, None if rendered else line, rendered, duplicates))
                index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display_path(source)}:{mark.line + 1}" if mark else display_path(source)
        problem = exc.problem or exc.context or "invalid YAML"
        raise InfraError(f"{where}: unparsable YAML: {problem}", "fix the YAML syntax at that line") from None
    except yaml.YAMLError as exc:
        raise InfraError(f"{display_path(source)}: unparsable YAML: {exc}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    return docs


def _expand(data: Any, source: Path, line: int | None) -> Iterator[dict[str, Any]]:
    where = f"{display_path(source)}:{line}" if line else display_path(source)
    if not isinstance(data, dict) or not data.get("kind") or not data.get("apiVersion"):
        raise InfraError(
            f"{where}: not a Kubernetes object (a mapping with apiVersion and kind)",
            "check only Kubernetes manifests, or fix this document",
        )
    if data["kind"] == "List" or (str(data["kind"]).endswith("List") and isinstance(data.get("items"), list)):
        for item in data.get("items") or []:
            if item is not None:
                yield from _expand(item, source, line)
        return
    yield data


def load_file(path: Path) -> list[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InfraError(
            f"cannot read {display_path(path)}: {exc}", "check the path and its permissions"
        ) from None
    return load_documents(text, path)


def render_kustomization(path: Path) -> list[Document]:
    return load_documents(kustomize(path), path, rendered=True)


def collect(paths: Iterable[Path | str]) -> list[Document]:
    """Documents of every path: a YAML file, a kustomization directory (rendered), or a directory of YAML.

    Plain directories are walked recursively in name order; a sub-directory that is a kustomization is
    rendered as one unit and not walked (a kustomize Component is skipped: it renders only inside an
    overlay). A missing path, or a directory without any YAML, is an error.
    """
    docs: list[Document] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InfraError(f"{display_path(path)} does not exist", "pass existing files or directories")
        if path.is_file():
            docs.extend(load_file(path))
            continue
        found = list(_walk(path))
        if not found:
            raise InfraError(
                f"{display_path(path)} holds no YAML files and no kustomization",
                "pass a directory with *.yaml manifests or a kustomization.yaml",
            )
        for item in found:
            docs.extend(render_kustomization(item) if item.is_dir() else load_file(item))
    return docs


def _walk(directory: Path) -> Iterator[Path]:
    """YAML files and kustomization directories under ``directory``, in a stable order.

    Kustomize ``Component`` directories are skipped: they do not render on their own, only inside the
    overlays that include them (and are checked there).
    """
    if is_kustomization_dir(directory):
        if not is_component(directory):
            yield directory
        return
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.suffix in YAML_SUFFIXES:
            yield entry


def render_env(env_name: str) -> list[Document]:
    """Render an environment's entry point (``manifests/envs/<env>``)."""
    env = get_environment(env_name)
    entry = env.manifests
    if not is_kustomization_dir(entry):
        raise InfraError(
            f"{display_path(entry)} is not a kustomization (no kustomization.yaml)",
            f"create the {env.name} entry point: manifests/envs/{env.name}/kustomization.yaml",
        )
    return render_kustomization(entry)
