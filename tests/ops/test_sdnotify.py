"""The systemd notify protocol over a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskd.clock import ManualClock
from riskd.ops.fake_notify import FakeNotifySocket, NotifyMessage
from riskd.ops.sdnotify import SystemdNotifier, notify_socket_address
from riskd.redact import register_secret


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeNotifySocket]:
    with FakeNotifySocket(tmp_path / "notify.sock") as sock:
        yield sock


def test_no_notify_socket_is_a_silent_no_op() -> None:
    """Outside systemd every call returns False and nothing is raised or opened."""
    notifier = SystemdNotifier(env={})
    assert not notifier.enabled
    results = [
        notifier.ready(),
        notifier.watchdog(),
        notifier.reloading(),
        notifier.stopping(),
        notifier.status("x"),
        notifier.extend_timeout(10),
    ]
    assert results == [False] * 6
    assert notifier.watchdog_interval() is None


def test_messages_reach_a_path_socket_in_order(fake: FakeNotifySocket) -> None:
    """READY, WATCHDOG, STATUS and STOPPING arrive as the exact datagrams systemd expects."""
    notifier = SystemdNotifier(env=fake.env())
    assert notifier.enabled
    assert notifier.ready(status="watching 3 scopes")
    assert notifier.watchdog()
    assert notifier.status("tick 7")
    assert notifier.stopping()
    got = [fake.receive(1.0) for _ in range(4)]
    assert [m.raw for m in got if m is not None] == [
        "READY=1\nSTATUS=watching 3 scopes",
        "WATCHDOG=1",
        "STATUS=tick 7",
        "STOPPING=1",
    ]


def test_abstract_socket_address_with_at_sign() -> None:
    """A NOTIFY_SOCKET starting with '@' is the abstract namespace and works."""
    with FakeNotifySocket() as fake:
        assert fake.address.startswith("@")
        notifier = SystemdNotifier(env={"NOTIFY_SOCKET": fake.address})
        assert notifier.ready()
        assert fake.wait_for("READY", within=1.0).fields == {"READY": "1"}
    assert notify_socket_address("@abc") == "\0abc"
    assert notify_socket_address("/run/systemd/notify") == "/run/systemd/notify"


def test_reloading_carries_monotonic_usec(fake: FakeNotifySocket) -> None:
    """RELOADING=1 comes with MONOTONIC_USEC= of CLOCK_MONOTONIC, as systemd >= 253 requires."""
    notifier = SystemdNotifier(env=fake.env())
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert notifier.reloading(status="reloading rules")
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    message = fake.wait_for("RELOADING", within=1.0)
    assert message.fields["RELOADING"] == "1"
    assert before <= int(message.fields["MONOTONIC_USEC"]) <= after
    assert message.fields["STATUS"] == "reloading rules"


def test_status_is_one_line_and_redacted(fake: FakeNotifySocket) -> None:
    """STATUS text is folded to one line and registered secrets are masked."""
    secret = "status-secret-" + os.urandom(6).hex()
    register_secret(secret)
    notifier = SystemdNotifier(env=fake.env())
    notifier.status(f"line one\nline two {secret}")
    message = fake.wait_for("STATUS", within=1.0)
    assert message.raw == "STATUS=line one line two ***"


def test_extend_timeout_in_microseconds(fake: FakeNotifySocket) -> None:
    """extend_timeout(seconds) sends EXTEND_TIMEOUT_USEC in microseconds."""
    SystemdNotifier(env=fake.env()).extend_timeout(2.5)
    assert fake.wait_for("EXTEND_TIMEOUT_USEC", within=1.0).fields == {
        "EXTEND_TIMEOUT_USEC": "2500000"
    }


def test_send_failure_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing socket makes sends return False with one warning; recovery is logged."""
    path = tmp_path / "later.sock"
    notifier = SystemdNotifier(env={"NOTIFY_SOCKET": str(path)})
    with caplog.at_level(logging.INFO, logger="riskd.ops.sdnotify"):
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "WATCHDOG" in warnings[0].getMessage()
        with FakeNotifySocket(path) as fake:
            assert notifier.watchdog() is True
            assert fake.wait_for("WATCHDOG", within=1.0).raw == "WATCHDOG=1"
        assert any("work again" in r.getMessage() for r in caplog.records)


def test_unsupported_address_disables_notifications(caplog: pytest.LogCaptureFixture) -> None:
    """A NOTIFY_SOCKET riskd cannot use (vsock:…) turns notifications off with a warning."""
    with caplog.at_level(logging.WARNING, logger="riskd.ops.sdnotify"):
        notifier = SystemdNotifier(env={"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert "vsock:2:1234" in caplog.text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "me"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    """WATCHDOG_USEC gives the interval only when WATCHDOG_PID is absent or this process."""
    assert SystemdNotifier(env=env).watchdog_interval() == expected


async def test_fake_daemon_loop_sends_ready_then_watchdog_per_tick() -> None:
    """A scheduler-like loop sends READY=1 once, then WATCHDOG=1 on each healthy tick."""
    clock = ManualClock()
    with FakeNotifySocket() as fake:
        notifier = SystemdNotifier(env=fake.env(watchdog_sec=30))
        interval = notifier.watchdog_interval()
        assert interval == 30.0

        async def daemon(ticks: int) -> None:
            notifier.ready(status="started")
            for _ in range(ticks):
                await clock.sleep(interval / 2)
                notifier.watchdog()
            notifier.stopping()

        await daemon(3)
        await fake.await_for("STOPPING", within=1.0)
        assert fake.keys() == ["READY", "WATCHDOG", "WATCHDOG", "WATCHDOG", "STOPPING"]
    assert clock.now() == 1_700_000_000.0 + 45.0


def test_a_child_process_notifies_through_the_environment() -> None:
    """A separate process given NOTIFY_SOCKET in its environment reaches the fake socket."""
    script = textwrap.dedent(
        """
        from riskd.ops.sdnotify import SystemdNotifier
        n = SystemdNotifier()
        assert n.ready() and n.watchdog()
        """
    )
    with FakeNotifySocket() as fake:
        env = {**os.environ, **fake.env()}
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=30)
        assert fake.wait_for("READY", within=5.0).raw == "READY=1"
        assert fake.wait_for("WATCHDOG", within=5.0).raw == "WATCHDOG=1"


def test_fake_socket_times_out_with_what_it_saw() -> None:
    """wait_for raises TimeoutError naming the key and listing what did arrive."""
    with FakeNotifySocket() as fake:
        SystemdNotifier(env=fake.env()).status("only this")
        with pytest.raises(TimeoutError, match=r"no READY=.*STATUS=only this"):
            fake.wait_for("READY", within=0.05)


async def test_fake_socket_await_for_times_out() -> None:
    """await_for gives up after its time limit without blocking the loop."""
    with FakeNotifySocket() as fake, pytest.raises(TimeoutError, match="no WATCHDOG="):
        await asyncio.gather(fake.await_for("WATCHDOG", within=0.05), asyncio.sleep(0))


def test_notify_message_parse_keeps_values_with_equals() -> None:
    """Values containing '=' survive parsing; lines without '=' are ignored."""
    message = NotifyMessage.parse(b"STATUS=a=b\nnoise\nREADY=1")
    assert message.fields == {"STATUS": "a=b", "READY": "1"}
