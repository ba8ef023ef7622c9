"""infra.series: what the probes record while they poll, appended safely, read back grouped."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from infra import series
from infra.paths import REPO_ROOT
from infra.series import SERIES_VARIABLE, Point, chart_name, load, record


@pytest.fixture
def series_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "series.jsonl"
    monkeypatch.setenv(SERIES_VARIABLE, str(path))
    return path


def test_record_is_a_no_op_without_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SERIES_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    record("HPA-3", "replicas/current", 3)
    assert list(tmp_path.iterdir()) == []


def test_points_are_read_back_by_claim_and_series_oldest_first(series_file: Path) -> None:
    record("HPA-3", "replicas/desired", 5, expected=5, at=1010.0)
    record("HPA-3", "replicas/desired", 1, expected=1, at=1000.0)
    record("HPA-3", "cpu/utilization", 248, expected=50, unit="% of request", at=1005.0)
    record("STS-3", "pods", {"web-1", "web-0", "web-10", "web-2"}, at=1001.0)
    record("NLB-3", "requests", {"echo-b": 2, "echo-a": 3}, expected=2.5, bound=1, at=1002.0)

    found = load(series_file)

    assert [p.value for p in found["HPA-3"]["replicas/desired"]] == [1.0, 5.0]
    assert found["HPA-3"]["cpu/utilization"] == [Point(1005.0, 248.0, 50.0, None, "% of request")]
    assert found["STS-3"]["pods"][0].value == ["web-0", "web-1", "web-10", "web-2"]
    assert found["NLB-3"]["requests"][0] == Point(1002.0, {"echo-a": 3.0, "echo-b": 2.0}, 2.5, 1.0)


def test_record_stamps_the_wall_clock_when_no_time_is_given(series_file: Path) -> None:
    import time

    before = time.time()
    record("HPA-2", "cpu/utilization", 12)
    (point,) = load(series_file)["HPA-2"]["cpu/utilization"]
    assert before <= point.at <= time.time()


def test_a_value_that_cannot_be_charted_is_a_probe_bug(series_file: Path) -> None:
    with pytest.raises(TypeError, match="a series value is"):
        record("HPA-3", "replicas/current", "three")
    assert not series_file.exists()


def test_recording_never_fails_the_probe_when_the_file_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERIES_VARIABLE, str(tmp_path / "missing-folder" / "series.jsonl"))
    record("HPA-3", "replicas/current", 3)  # no exception: the chart is an illustration, not the verdict
    assert not (tmp_path / "missing-folder").exists()


def test_a_line_cut_short_by_a_killed_process_is_skipped(series_file: Path) -> None:
    record("STS-3", "replicas/ready", 3, at=1.0)
    with series_file.open("a", encoding="utf-8") as handle:
        handle.write('{"claim":"STS-3","series":"replicas/ready","at":2.0,"val')
    assert [p.value for p in load(series_file)["STS-3"]["replicas/ready"]] == [3.0]


def test_an_absent_file_is_no_series(tmp_path: Path) -> None:
    assert load(tmp_path / "never-written.jsonl") == {}
    assert load(None) == {}


def test_appends_from_threads_and_processes_never_interleave(series_file: Path) -> None:
    """Side-by-side pytest processes, each with threads, append to one file: every line stays whole."""
    per_writer, threads = 200, 6
    child = (
        "import sys\n"
        "from infra.series import record\n"
        f"for i in range({per_writer}):\n"
        "    record('CTL-6', 'endpoints', ['whoami-web-' + str(n) for n in range(40)], at=float(i))\n"
    )
    environment = {**_env(), SERIES_VARIABLE: str(series_file)}
    processes = [
        subprocess.Popen([sys.executable, "-c", child], cwd=REPO_ROOT, env=environment) for _ in range(2)
    ]

    def write(claim: str) -> None:
        for i in range(per_writer):
            record(claim, "replicas/current", i, bound=10, at=float(i))

    workers = [threading.Thread(target=write, args=(f"T-{n}",)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(p.wait(timeout=60) == 0 for p in processes)

    lines = series_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == per_writer * (threads + 2)
    assert all(json.loads(line)["series"] for line in lines)  # each line is one whole JSON object
    found = load(series_file)
    assert len(found["CTL-6"]["endpoints"]) == 2 * per_writer
    assert all(len(found[f"T-{n}"]["replicas/current"]) == per_writer for n in range(threads))


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != SERIES_VARIABLE}


def test_chart_names_split_at_the_first_slash() -> None:
    assert chart_name("replicas/current") == ("replicas", "current")
    assert chart_name("pods") == ("pods", "pods")


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    points = {"NLB-3": {"requests": [Point(5.0, {"a": 1.0}, expected=1.0, bound=1.0, unit="answers")]}}
    assert load(series.write(points, tmp_path / "out.jsonl")) == points


def _hpa(current: int, desired: int, utilization: int | None) -> dict:
    metric = {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": utilization}}}
    return {
        "spec": {
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
        "status": {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": [metric] if utilization is not None else [],
        },
    }


def test_a_polled_hpa_gives_replicas_against_the_formula_and_cpu_against_the_target(
    series_file: Path,
) -> None:
    series.record_hpa("HPA-3", _hpa(1, 5, 248), at=10.0)  # ceil(1 x 248 / 50) = 5
    series.record_hpa("HPA-3", _hpa(9, 9, 53), at=25.0)  # within the 10 % tolerance: stays 9
    series.record_hpa("HPA-3", _hpa(1, 1, None), at=0.0)  # metric <unknown>: no CPU point, no formula

    found = load(series_file)["HPA-3"]
    assert found["replicas/current"] == [Point(0.0, 1.0, bound=10.0), Point(10.0, 1.0, bound=10.0),
                                         Point(25.0, 9.0, bound=10.0)]  # fmt: skip
    assert found["replicas/desired"] == [Point(0.0, 1.0), Point(10.0, 5.0, 5.0), Point(25.0, 9.0, 9.0)]
    assert found["cpu/utilization"] == [
        Point(10.0, 248.0, 50.0, unit="% of request"),
        Point(25.0, 53.0, 50.0, unit="% of request"),
    ]


def test_recording_an_hpa_is_free_when_recording_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SERIES_VARIABLE, raising=False)
    series.record_hpa("HPA-3", {"not": "an hpa"})  # not even parsed
