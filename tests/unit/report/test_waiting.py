"""The live line for long waits: in place on a terminal, plain lines in a log; rollout waits use it."""

from __future__ import annotations

import io
import re
import threading
import time
from contextlib import contextmanager

import pytest
from rich.console import Console

from infra.console import waiting
from infra.gitops import rollout
from infra.kube import KubeTarget, ObjectRef


def test_in_a_log_a_still_waiting_line_comes_every_period_until_the_wait_ends() -> None:
    lines: list[str] = []
    log = Console(file=io.StringIO(), force_terminal=False)
    with waiting(lines.append, output=log, every=0.05) as board:
        assert not board.live
        wait = board.add("Deployment lab-hpa/hpa-demo", 240)
        time.sleep(0.28)
        wait.finish()
        seen = len(lines)
        time.sleep(0.15)
    assert 2 <= seen <= 6  # about one per 0.05 s; fewer when the machine is busy
    assert len(lines) == seen  # nothing more once it finished
    assert lines[0] == "still waiting for Deployment lab-hpa/hpa-demo: 0s / 240s"
    assert log.file.getvalue() == ""  # lines go through the caller's progress, not straight to the console


def test_on_a_terminal_the_line_is_redrawn_in_place_and_vanishes() -> None:
    lines: list[str] = []
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    with waiting(lines.append, output=terminal, every=0.05) as board:
        assert board.live
        board.add("StatefulSet lab-sql/mysql", 900)
        time.sleep(0.8)  # the display refreshes twice a second
    assert lines == []  # no plain lines on a terminal
    drawn = re.findall(r"waiting for StatefulSet lab-sql/mysql: \ds / 900s", screen.getvalue())
    assert len(drawn) >= 2  # redrawn as the seconds tick
    assert screen.getvalue().endswith("\x1b[2K")  # erased at the end: the caller's end line follows


def test_waits_added_and_finished_from_threads() -> None:
    log = Console(file=io.StringIO(), force_terminal=False)
    with waiting(lambda _line: None, output=log, every=10) as board:
        waits = []

        def add(n: int) -> None:
            waits.append(board.add(f"w{n}", 10))

        threads = [threading.Thread(target=add, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(board.pending()) == 20
        for wait in waits[:15]:
            wait.finish()
        assert sorted(w.what for w in board.pending()) == sorted(w.what for w in waits[15:])


def test_rollout_waits_keep_their_lines_and_finish_on_the_board(monkeypatch: pytest.MonkeyPatch) -> None:
    """wait_all prints what it always printed (start, end); each rollout leaves the board when it ends."""
    fast, slow = (
        rollout.Rollout(ObjectRef("apps", "Deployment", "lab-ctl", "pi-web"), "deployment.apps", 1, 210),
        rollout.Rollout(ObjectRef("apps", "StatefulSet", "lab-sql", "mysql"), "statefulset.apps", 3, 900),
    )
    boards = []
    real_waiting = rollout.waiting

    @contextmanager
    def spy(*args, **kwargs):
        with real_waiting(*args, **kwargs) as board:
            boards.append(board)
            yield board

    def wait_one(_target, r):
        time.sleep(0.05 if r is fast else 0.3)
        if r is slow:
            assert [w.what for w in boards[0].pending()] == [str(slow.ref)]  # fast one already done
        return rollout.Waited(r, True, 1.0, "")

    monkeypatch.setattr(rollout, "waiting", spy)
    monkeypatch.setattr(rollout, "wait_one", wait_one)
    lines: list[str] = []
    results = rollout.wait_all(KubeTarget(None, None, "test"), [fast, slow], progress=lines.append)

    assert [r.rollout for r in results] == [fast, slow]
    assert lines == [
        "waiting for Deployment lab-ctl/pi-web (deadline 210s)",
        "waiting for StatefulSet lab-sql/mysql (3 pods one at a time, deadline 900s)",
        "Deployment lab-ctl/pi-web: rolled out after 1s of 210s",
        "StatefulSet lab-sql/mysql: rolled out after 1s of 900s",
    ]
    assert boards[0].pending() == []
