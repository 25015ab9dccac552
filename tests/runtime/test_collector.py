"""The quiet collector is restored by the last to leave, whatever order concurrent users leave in."""

from __future__ import annotations

import gc

from libs.runtime.collector import BULK, quiet_collector


def test_nested_and_interleaved_uses_restore_the_collector_once_all_have_left() -> None:
    before = gc.get_threshold()
    first, second = quiet_collector(), quiet_collector((1_000, 10, 10))
    first.__enter__()
    assert gc.get_threshold() == BULK and gc.get_freeze_count() > 0
    second.__enter__()
    assert gc.get_threshold() == BULK  # the first to enter set it up
    first.__exit__(None, None, None)  # the first leaves while the second still works
    assert gc.get_threshold() == BULK and gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_an_error_inside_still_restores() -> None:
    before = gc.get_threshold()
    try:
        with quiet_collector(collect_first=True):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
