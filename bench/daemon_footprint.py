"""Memory and idle CPU of ``riskd run`` watching a simulator, beside a bare idle Python.

Three processes, started together:

- ``riskd sim serve`` on a free 127.0.0.1 port, with a calm scenario (constant prices, a 3x
  isolated BTC long and a 2x cross ETH long, so there is debt to watch);
- ``riskd run`` (dry-run, default poll settings, the shipped rules) watching it over HTTP;
- the baseline: ``python -c "time.sleep(…)"`` — a bare interpreter idling.

After a warm-up, CPU seconds (utime + stime from ``/proc/PID/stat``) are measured over the
window for the daemon and for the baseline; RSS and peak RSS come from
``/proc/PID/status`` at the end. Linux only (``/proc``); no psutil.

    .venv/bin/python bench/daemon_footprint.py [--seconds 20] [--warmup 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
#: API version of the daemon (``bench/run --api v1`` sets ``$RISKD_BENCH_API``; default v2).
API = os.environ.get("RISKD_BENCH_API", "v2")

SCENARIO = """
name = "calm"
description = "constant prices, leveraged positions to watch"
duration_s = 3600
[markets]
BTCUSDT = "30000"
ETHUSDT = "2000"
[[accounts]]
name = "main"
funding = { cross = { USDT = "2000", ETH = "1" }, isolated.BTCUSDT = { USDT = "3000" } }
positions = [
  { scope = "isolated:BTCUSDT", side = "long", leverage = "3" },
  { scope = "cross", symbol = "ETHUSDT", side = "long", leverage = "2" },
]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command name: state(0) ppid(1) … utime(11) stime(12)
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                answer.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        print("daemon_footprint: needs Linux /proc", file=sys.stderr)
        return 2
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="riskd-footprint-"))
    (tmp / "calm.toml").write_text(SCENARIO, encoding="utf-8")
    (tmp / "riskd.toml").write_text(
        f'base_url = "http://127.0.0.1:{port}"\n'
        f'rules_dir = "{REPO / "rules"}"\n'
        f'journal_path = "{tmp / "journal.sqlite3"}"\n'
        "[metrics]\nenabled = false\n"
        # The account takes its credentials from the environment; only its API is set here.
        + (f'[accounts.main]\napi = "{API}"\n' if API == "v1" else ""),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "RISKD_API_KEY": "bg_" + secrets.token_hex(16),
        "RISKD_API_SECRET": secrets.token_hex(32),
        "RISKD_API_PASSPHRASE": secrets.token_urlsafe(12),
        "RISKD_LOG_LEVEL": "WARNING",
    }
    env.pop("RISKD_NOTIFY_URLS", None)
    env.pop("NOTIFY_SOCKET", None)
    riskd = [sys.executable, "-m", "riskd.cli.main"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen(
        [*riskd, "sim", "serve", "--scenario", str(tmp / "calm.toml"), "--port", str(port)],
        env=env,
        cwd=tmp,
        **quiet,
    )
    procs = [server]
    try:
        wait_http(f"http://127.0.0.1:{port}/api/spot/v1/public/time", 30)
        total = args.warmup + args.seconds + 5
        daemon = subprocess.Popen(
            [*riskd, "run", "--config", str(tmp / "riskd.toml"), "--log-level", "WARNING"],
            env=env,
            cwd=tmp,
            **quiet,
        )
        baseline = subprocess.Popen(
            [sys.executable, "-c", f"import time; time.sleep({total})"], env=env, **quiet
        )
        procs += [daemon, baseline]
        time.sleep(args.warmup)
        if daemon.poll() is not None:
            print(f"daemon_footprint: riskd run exited with {daemon.returncode}", file=sys.stderr)
            return 1
        start = {p.pid: cpu_seconds(p.pid) for p in (daemon, baseline, server)}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        window = time.monotonic() - t0
        used = {p.pid: cpu_seconds(p.pid) - start[p.pid] for p in (daemon, baseline, server)}
        mem = {p.pid: memory_kib(p.pid) for p in (daemon, baseline)}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats", timeout=5) as answer:
            stats = answer.read().decode()
    finally:
        for p in reversed(procs):
            stop(p)
    d, b = daemon.pid, baseline.pid
    rss_d, rss_b = mem[d]["VmRSS"] / 1024, mem[b]["VmRSS"] / 1024
    print(
        f"riskd run (dry-run) watching riskd sim serve over HTTP, {window:.1f} s window "
        f"after {args.warmup:g} s warm-up, default poll settings"
    )
    print(
        f"daemon:   RSS {rss_d:7.1f} MiB (peak {mem[d]['VmHWM'] / 1024:.1f} MiB), "
        f"CPU {used[d]:.2f} s = {100 * used[d] / window:.2f} % of one core"
    )
    print(
        f"baseline: RSS {rss_b:7.1f} MiB (peak {mem[b]['VmHWM'] / 1024:.1f} MiB), "
        f"CPU {used[b]:.2f} s = {100 * used[b] / window:.2f} % of one core  (bare idle python)"
    )
    print(f"simulator process CPU in the window: {used[server.pid]:.2f} s")
    print(f"ratio RSS daemon / baseline: {rss_d / rss_b:.1f}x")
    print(
        f"CPU above baseline: {used[d] - used[b]:.2f} s per {window:.0f} s "
        f"= {100 * (used[d] - used[b]) / window:.2f} % of one core"
    )
    print(f"simulator request counters: {stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
