"""A run asked to stop by a signal ends cleanly, and the handlers that were there before come back."""

from __future__ import annotations

import os
import signal

from focuslock.core.signals import StopSignals


def test_a_signal_asks_to_stop_and_the_old_handler_returns():
    seen = []
    before = signal.signal(signal.SIGHUP, lambda *_: seen.append("old"))
    try:
        with StopSignals(("SIGHUP",), on_signal=seen.append) as stop:
            assert not stop
            os.kill(os.getpid(), signal.SIGHUP)
            assert stop and stop() and stop.requested == "SIGHUP"
        assert seen == ["SIGHUP"]
        os.kill(os.getpid(), signal.SIGHUP)  # the handler that was there before, back in place
        assert seen == ["SIGHUP", "old"]
    finally:
        signal.signal(signal.SIGHUP, before)


def test_a_second_ctrl_c_goes_to_the_handler_that_was_there_before():
    seen = []
    before = signal.signal(signal.SIGINT, lambda *_: seen.append("previous"))
    try:
        with StopSignals(("SIGINT",), second_passes_through=True) as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.requested == "SIGINT" and seen == []
            os.kill(os.getpid(), signal.SIGINT)
            assert seen == ["previous"]
    finally:
        signal.signal(signal.SIGINT, before)
