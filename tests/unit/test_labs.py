"""The lab registry (infra/labs.py): every part it names exists, and what reads it agrees with it.

Also: the repository stands alone, so no tracked file cites a document or path outside it.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra import labs
from infra.errors import InfraError
from infra.paths import REPO_ROOT

LAB_IDS = [lab.prefix for lab in labs.LABS]


def _lab(prefix: str) -> labs.Lab:
    return labs.LAB_BY_PREFIX[prefix]


# --- the registry's own shape ----------------------------------------------------------------------------


def test_claims_are_numbered_one_to_n_under_their_lab_prefix():
    for lab in labs.LABS:
        assert [c.id for c in lab.claims] == [f"{lab.prefix}-{n}" for n in range(1, len(lab.claims) + 1)]


def test_prefixes_and_claim_ids_are_unique():
    assert len(set(LAB_IDS)) == len(LAB_IDS)
    assert len(labs.BY_ID) == len(labs.CLAIMS)


def test_claims_follow_lab_order():
    assert [c.id for c in labs.CLAIMS] == [c.id for lab in labs.LABS for c in lab.claims]
    assert [labs.ORDER[c.id] for c in labs.CLAIMS] == list(range(len(labs.CLAIMS)))


def test_every_claim_says_how_it_is_verified():
    assert all(c.title and c.verified for c in labs.CLAIMS)
    assert all(set(c.environments) <= set(labs.ALL_ENVIRONMENTS) and c.environments for c in labs.CLAIMS)


def test_dependencies_are_known_and_come_first():
    """A claim depends on claims proved before it (``infra verify`` runs those first) or on a prerequisite."""
    for claim in labs.CLAIMS:
        for dependency in claim.depends_on:
            if dependency in labs.PREREQUISITES:
                continue
            assert dependency in labs.BY_ID, f"{claim.id} depends on unknown {dependency}"
            assert labs.ORDER[dependency] < labs.ORDER[claim.id], f"{claim.id} depends on later {dependency}"
            assert set(claim.environments) <= set(labs.BY_ID[dependency].environments), (
                f"{claim.id} runs where {dependency} does not"
            )


@pytest.mark.parametrize(
    ("claim", "needs"),
    [
        ("HPA-2", {"ADD-1"}),
        ("HPA-3", {"ADD-1"}),
        ("TLS-3", {"ADD-2"}),
        ("STS-4", {"ADD-3"}),
        ("STS-5", {"ADD-3"}),
        ("STS-1", {"dns"}),
        ("STS-2", {"dns"}),
        *[(f"SQL-{n}", {"ADD-3", "dns"}) for n in range(1, 6)],
    ],
)
def test_known_dependencies(claim, needs):
    assert needs <= set(labs.BY_ID[claim].depends_on)


def test_control_plane_claims():
    """The claims a cluster without real pods (no exec, logs or HTTP into containers) can still decide."""
    decided_by_control_plane = {c.id for c in labs.CLAIMS if not c.needs_pods}
    assert decided_by_control_plane == {
        "ENV-1",
        "TLS-2",
        "STS-3",
        "STS-4",
        "QOS-1",
        "QOS-2",
        "HPA-1",
        "HPA-4",
        *(f"GIT-{n}" for n in range(1, 5)),
        *(f"CTL-{n}" for n in (1, 2, 3, 4, 5, 6, 9)),
    }


def test_id_range_and_environments():
    assert _lab("STS").id_range == "STS-1..5"
    assert _lab("ENV").id_range == "ENV-1"
    assert _lab("NLB").environments == ("aws",)
    assert _lab("ADD").environments == ("local", "aws")  # ADD-4 alone is aws-only
    assert labs.lab_of("SQL-3") is _lab("SQL")


# --- every registered part exists --------------------------------------------------------------------------


def _documents(folder: Path) -> list[dict]:
    return [
        doc
        for path in sorted(folder.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict)
    ]


@pytest.mark.parametrize("prefix", [lab.prefix for lab in labs.LABS if lab.manifests])
def test_manifests_folder_is_kustomize_and_declares_the_namespace(prefix):
    lab = _lab(prefix)
    folder = REPO_ROOT / lab.manifests
    assert (folder / "kustomization.yaml").is_file(), f"{lab.manifests} has no kustomization.yaml"
    namespaces = {d["metadata"]["name"] for d in _documents(folder) if d.get("kind") == "Namespace"}
    assert lab.namespace in namespaces, f"{lab.manifests} declares namespaces {namespaces}"


def test_every_namespaced_lab_has_manifests():
    assert all(lab.manifests for lab in labs.LABS if lab.namespace)


@pytest.mark.parametrize("prefix", LAB_IDS)
def test_probe_modules_exist(prefix):
    for module in _lab(prefix).probes:
        assert importlib.util.find_spec(f"infra.probes.{module}"), f"no infra/probes/{module}.py"


@pytest.mark.parametrize("prefix", LAB_IDS)
def test_test_files_exist(prefix):
    lab = _lab(prefix)
    assert (REPO_ROOT / lab.live_tests).is_file(), lab.live_tests
    assert lab.live_tests.startswith("tests/live/test_")
    for path in lab.offline_tests:
        assert (REPO_ROOT / path).exists(), path


def _is_slow(function: ast.FunctionDef) -> bool:
    return any(ast.unparse(decorator) == "pytest.mark.slow" for decorator in function.decorator_list)


def _live_tests(path: str) -> dict[str, bool]:
    """Test function name -> marked slow, for one live test file."""
    tree = ast.parse((REPO_ROOT / path).read_text())
    return {
        node.name: _is_slow(node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


@pytest.mark.parametrize("prefix", LAB_IDS)
def test_one_live_test_per_claim_named_after_its_id(prefix):
    lab = _lab(prefix)
    tests = _live_tests(lab.live_tests)
    for claim in lab.claims:
        named = [name for name, slow in tests.items() if name.startswith(claim.test_prefix) and not slow]
        assert len(named) == 1, (
            f"{claim.id}: expected one (non-slow) test {claim.test_prefix}* in {lab.live_tests}"
        )
    strays = [name for name in tests if labs.claim_id_of(name) not in {c.id for c in lab.claims}]
    assert not strays, f"{lab.live_tests} has tests named after no claim of {prefix}: {strays}"


def test_every_live_test_file_belongs_to_a_lab():
    registered = {lab.live_tests for lab in labs.LABS}
    on_disk = {str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "tests" / "live").glob("test_*.py")}
    assert on_disk == registered


def test_every_lab_manifests_folder_is_registered():
    """A folder under manifests/base is some lab's (a new lab cannot ship manifests without its entry)."""
    registered = {lab.manifests for lab in labs.LABS}
    on_disk = {f"manifests/base/{p.name}" for p in (REPO_ROOT / "manifests" / "base").iterdir() if p.is_dir()}
    assert on_disk <= registered


# --- what reads the registry ----------------------------------------------------------------------------


def test_catalog_is_generated_and_up_to_date():
    catalog = REPO_ROOT / labs.CATALOG
    assert catalog.read_text() == labs.markdown(), (
        f"{labs.CATALOG} is stale: run `python -m infra.labs --markdown > {labs.CATALOG}`"
    )


def test_catalog_lists_every_claim_with_its_dependencies():
    text = labs.markdown()
    for claim in labs.CLAIMS:
        row = next(line for line in text.splitlines() if line.startswith(f"| {claim.id} |"))
        assert claim.title.replace("|", "\\|") in row
        assert all(dependency in row for dependency in claim.depends_on)
        assert ("control plane" in row) is (not claim.needs_pods)
    assert "dns (prerequisite)" in text


def test_readme_lab_table_reads_the_registry():
    readme = (REPO_ROOT / "README.md").read_text()
    assert labs.readme_lab_table() in readme, "README's lab table: run `python -m infra.labs --readme-table`"


def test_readme_table_has_a_row_per_namespaced_lab():
    rows = labs.readme_lab_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == [lab.namespace for lab in labs.LABS if lab.namespace]
    assert any(row.startswith("| NLB in IP mode (NLB-1..3, AWS) |") for row in rows)


@pytest.mark.parametrize(("flag", "expected"), [("--markdown", "# The labs"), ("--readme-table", "| lab |")])
def test_module_prints(flag, expected, capsys):
    assert labs.main([flag]) == 0
    assert capsys.readouterr().out.startswith(expected)


def test_unknown_id_points_at_the_catalog():
    with pytest.raises(InfraError, match="unknown claim ID 'XYZ-9'") as caught:
        labs.normalise_ids(["XYZ-9"])
    assert caught.value.hint.startswith("use IDs from docs/labs.md such as STS-3")
    assert "areas: ADD, CTL, ENV, GIT, HPA, NLB, QOS, SQL, STS, TLS" in caught.value.hint


def test_claims_module_is_the_registry():
    from infra.probes import claims

    assert claims.CLAIMS is labs.CLAIMS
    assert claims.BY_ID is labs.BY_ID
    assert claims.normalise_ids(["sts-3"]) == ["STS-3"]


# --- the repository stands alone ---------------------------------------------------------------------------

# Documents and places that are not in the repository; spelled so this file does not cite them itself.
_OUTSIDE = re.compile(r"\b(?:LABS|FACTS|STYLE)[.]md\b|/work(?=/)|[.][.]/shared\b")
_ALLOWED = {".ci/run": re.compile(r"[.][.]/shared/cp/unpack")}  # CI unpacks the control-plane binaries


def _citations(path: str, text: str) -> list[str]:
    allowed = _ALLOWED.get(path)
    return [
        f"{path}:{number}: {line.strip()[:120]}"
        for number, line in enumerate(text.splitlines(), 1)
        if _OUTSIDE.search(line) and not (allowed and allowed.search(line))
    ]


def test_no_tracked_file_cites_anything_outside_the_repository():
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    found: list[str] = []
    for path in filter(None, listed.split("\0")):
        file = REPO_ROOT / path
        if not file.is_file():  # deleted in the working tree
            continue
        text = file.read_bytes().decode("utf-8", errors="replace")
        found += _citations(path, text)
    assert not found, "files citing documents or paths outside the repository:\n" + "\n".join(found)


_MD, _WORK, _SHARED = ".md", "/wor" + "k/", ".." + "/shared"  # pieces, so this file cites nothing itself


@pytest.mark.parametrize(
    ("path", "line", "cited"),
    [
        ("a.py", f"# see LABS{_MD}", True),
        ("a.py", f"# (FACTS{_MD})", True),
        ("a.py", f"conventions STYLE{_MD} asks for", True),
        ("a.yml", f"kubeconfig: {_WORK}main/.infra/aws/kubeconfig", True),
        ("a.md", f"`../{_SHARED}/LABS{_MD}`", True),
        (".ci/run", f'export KUBEBUILDER_ASSETS=$("$ROOT"/{_SHARED}/cp/unpack)', False),
        (".ci/run", f"cat {_SHARED}/other", True),
        ("a.md", "see docs/labs.md, MYLABS.md or /workspace", False),
    ],
)
def test_citation_pattern(path, line, cited):
    assert bool(_citations(path, line)) is cited
