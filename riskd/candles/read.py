"""Read candle files: Bitget v2 candles JSON and CSV ``ts,open,high,low,close[,volume]``.

Accepted shapes (the response of ``GET /api/v2/spot/market/candles`` and
``/api/v2/mix/market/candles``):

- the whole response ``{"code": "00000", "data": [[ts, o, h, l, c, baseVol, ...], ...]}``;
- the bare ``data`` array ``[[ts, o, h, l, c, ...], ...]``;
- JSON lines: one row array per line (what an appending download may write);
- CSV ``ts,open,high,low,close[,volume]``, header optional, ``#`` comment lines allowed.

A row's fields are decimal strings (numbers are accepted, floats never: every value goes
through :class:`~decimal.Decimal` from its text). Timestamps are milliseconds.

Errors (:class:`CandleFileError`) name the file and line: duplicate or unordered timestamps,
``high < low``, open/close outside ``[low, high]``, a step that is not the granularity (or a
multiple of it), a truncated last line, a non-numeric or non-positive field. Gaps (a step of
several candles) are not errors: :attr:`CandleSeries.gaps` lists them and
:meth:`CandleSeries.gap_warning` says how many and the choice made (the price holds the last
close, nothing trades inside a gap).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

ZERO = Decimal(0)
_MS = {"s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_MS.update({"day": 86_400_000, "w": 604_800_000, "week": 604_800_000, "H": 3_600_000})
_MS.update({"D": 86_400_000, "W": 604_800_000})
_GRAN = re.compile(r"^(\d+)(s|m|min|h|H|d|D|day|w|W|week)(utc)?$")
CSV_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_FIELDS = ("ts", "open", "high", "low", "close", "volume")


class CandleFileError(ValueError):
    """A candle file that cannot be used; the message names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Candle:
    """One candle: open time in ms, prices and base volume as Decimals."""

    ts_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles: ``missing`` candles after the one opening at ``after_ts_ms``."""

    after_ts_ms: int
    missing: int
    line: int


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """The candles of one file, in time order, with their granularity and gaps."""

    path: str
    granularity_ms: int
    candles: tuple[Candle, ...]
    gaps: tuple[Gap, ...] = field(default=())

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)

    def gap_warning(self) -> str | None:
        """One line for the user when the file has gaps, else ``None``."""
        if not self.gaps:
            return None
        largest = max(self.gaps, key=lambda g: g.missing)
        return (
            f"{self.path}: {len(self.gaps)} gap(s), {self.missing} missing candle(s) "
            f"(largest: {largest.missing} after line {largest.line}); the price holds the "
            "last close through a gap and nothing is polled or traded inside it"
        )


def granularity_ms(text: str) -> int:
    """``"1m"``/``"1min"`` → 60000, ``"1h"``/``"1H"`` → 3600000, ``"1d"``/``"1day"``/``"1D"``…

    Months (``"1M"``) are refused: they have no fixed length.
    """
    m = _GRAN.match(text.strip())
    if m is None or int(m.group(1)) <= 0:
        raise ValueError(
            f"granularity {text!r}: expected a count and a unit like 1m, 5min, 1h, 4H, 1day, 1W"
            " (months are not supported)"
        )
    return int(m.group(1)) * _MS[m.group(2)]


def format_granularity(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


# ---------------------------------------------------------------------------- parsing rows
def _num(raw: object, name: str, path: Path, line: int) -> Decimal:
    if isinstance(raw, bool | float):
        raise CandleFileError(path, line, f"{name} {raw!r} is a float; write it as a string")
    try:
        value = Decimal(raw.strip() if isinstance(raw, str) else str(raw))
    except InvalidOperation:
        raise CandleFileError(path, line, f"{name} {raw!r} is not a number") from None
    if not value.is_finite():
        raise CandleFileError(path, line, f"{name} {raw!r} is not finite")
    return value


def _candle(fields: list[object], path: Path, line: int) -> Candle:
    if len(fields) < 5:
        raise CandleFileError(
            path, line, f"{len(fields)} field(s); expected ts,open,high,low,close[,volume]"
        )
    ts_raw = fields[0]
    ts_text = ts_raw.strip() if isinstance(ts_raw, str) else ts_raw
    if isinstance(ts_text, int) and not isinstance(ts_text, bool):
        ts = ts_text
    elif isinstance(ts_text, str) and ts_text.isdigit():
        ts = int(ts_text)
    else:
        raise CandleFileError(path, line, f"ts {ts_raw!r} is not a timestamp in milliseconds")
    o, h, lo, c = (_num(fields[i], _FIELDS[i], path, line) for i in range(1, 5))
    vol = _num(fields[5], "volume", path, line) if len(fields) > 5 else ZERO
    if min(o, h, lo, c) <= 0:
        raise CandleFileError(path, line, "prices must be > 0")
    if vol < 0:
        raise CandleFileError(path, line, f"volume {vol} is negative")
    if h < lo:
        raise CandleFileError(path, line, f"high {h} is below low {lo}")
    if not lo <= o <= h:
        raise CandleFileError(path, line, f"open {o} is outside [low {lo}, high {h}]")
    if not lo <= c <= h:
        raise CandleFileError(path, line, f"close {c} is outside [low {lo}, high {h}]")
    return Candle(ts, o, h, lo, c, vol)


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, list[object]]]:
    lines = text.split("\n")
    ends_clean = text.endswith("\n")
    last = len(lines) - (1 if ends_clean else 0)
    seen_data = False
    for i, raw in enumerate(lines[:last], start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields: list[object] = [f.strip() for f in stripped.split(",")]
        if not seen_data and not str(fields[0]).isdigit():
            names = tuple(str(f).lower() for f in fields)
            if names not in (CSV_COLUMNS, CSV_COLUMNS[:5]):
                raise CandleFileError(
                    path, i, f"header {stripped!r}: expected ts,open,high,low,close[,volume]"
                )
            seen_data = True
            continue
        seen_data = True
        if i == last and not ends_clean:
            try:
                _candle(fields, path, i)
            except CandleFileError as exc:
                raise CandleFileError(
                    path, i, f"truncated last line ({exc.problem}): remove it and resume"
                ) from None
        yield i, fields


def _json_rows(path: Path, text: str) -> Iterator[tuple[int, list[object]]]:
    dec = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos < len(text) and text[pos] == "{":
        m = re.search(r'"data"\s*:\s*\[', text)
        if m is None:
            _check_envelope(path, text)
            raise CandleFileError(path, 1, 'a JSON object without a "data" array of candles')
        _check_envelope(path, text)
        pos = m.end() - 1
    if pos >= len(text) or text[pos] != "[":
        raise CandleFileError(path, _line(text, pos), "expected a JSON array of candles")
    # JSON lines: every line one row array (``[...]\n[...]``).
    jsonl = _is_jsonl(text, pos)
    nxt = _skip_ws(text, pos + 1)
    if not jsonl and nxt < len(text) and text[nxt] not in "[]":
        raise CandleFileError(path, _line(text, nxt), "expected a row array [ts, o, h, l, c, ...]")
    pos = pos if jsonl else pos + 1
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            if jsonl:
                return
            raise CandleFileError(path, _line(text, pos), "truncated: the array is not closed")
        if not jsonl and text[pos] == "]":
            return
        line = _line(text, pos)
        try:
            row, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            last = text.rstrip().count("\n") + 1
            what = "truncated last line" if _line(text, exc.pos) >= last else "invalid JSON"
            raise CandleFileError(path, _line(text, exc.pos), f"{what}: {exc.msg}") from None
        if not isinstance(row, list):
            raise CandleFileError(path, line, f"a row must be an array, got {type(row).__name__}")
        yield line, row
        pos = _skip_ws(text, pos)
        if not jsonl:
            if pos < len(text) and text[pos] == ",":
                pos += 1
            elif pos < len(text) and text[pos] == "]":
                return
            elif pos >= len(text):
                raise CandleFileError(path, _line(text, pos), "truncated: the array is not closed")
            else:
                raise CandleFileError(path, _line(text, pos), "expected ',' or ']' after a row")


def _is_jsonl(text: str, pos: int) -> bool:
    """``[[...],...]`` is one array; ``[...]\\n[...]`` (a flat row per line) is JSON lines."""
    end = text.find("\n", pos)
    head = text[pos : end if end >= 0 else len(text)].strip()
    inner = head[1:].lstrip()
    return head.endswith("]") and not inner.startswith("[") and not inner.startswith("]")


def _check_envelope(path: Path, text: str) -> None:
    m = re.search(r'"code"\s*:\s*"([^"]*)"', text[:2000])
    if m is not None and m.group(1) != "00000":
        msg = re.search(r'"msg"\s*:\s*"([^"]*)"', text[:2000])
        detail = f" ({msg.group(1)})" if msg else ""
        raise CandleFileError(path, 1, f"the response is an error: code {m.group(1)}{detail}")


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _is_json(text: str) -> bool:
    for ch in text:
        if ch in " \t\r\n":
            continue
        return ch in "[{"
    return False


# ---------------------------------------------------------------------------- public
def _rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CandleFileError(path, None, "no such file") from None
    except UnicodeDecodeError as exc:
        raise CandleFileError(path, None, f"not UTF-8 text ({exc.reason})") from None
    if _is_json(text):
        return _json_rows(path, text)
    return _csv_rows(path, text)


def read_candles(path: Path | str, *, granularity: str | None = None) -> CandleSeries:
    """Read and check a candle file (format told by its content).

    ``granularity`` (``"1m"``, ``"1h"``…) is checked against every step; ``None`` infers it
    as the smallest step in the file. A step that is a multiple of it is a gap (listed, not an
    error); any other step is an error naming the line.
    """
    p = Path(path)
    declared = granularity_ms(granularity) if granularity is not None else None
    candles: list[Candle] = []
    lines: list[int] = []
    for line, fields in _rows(p):
        c = _candle(fields, p, line)
        if candles:
            prev = candles[-1].ts_ms
            if c.ts_ms == prev:
                raise CandleFileError(p, line, f"duplicate timestamp {c.ts_ms} (line {lines[-1]})")
            if c.ts_ms < prev:
                raise CandleFileError(
                    p, line, f"timestamp {c.ts_ms} is before {prev} (line {lines[-1]}): unordered"
                )
        candles.append(c)
        lines.append(line)
    if not candles:
        raise CandleFileError(p, None, "no candles in the file")
    step = declared
    if step is None:
        step = min(
            (b.ts_ms - a.ts_ms for a, b in itertools.pairwise(candles)),
            default=60_000,
        )
    gaps: list[Gap] = []
    for i in range(1, len(candles)):
        d = candles[i].ts_ms - candles[i - 1].ts_ms
        if d == step:
            continue
        if d % step != 0 or d < step:
            said = "declared" if declared is not None else "inferred"
            raise CandleFileError(
                p,
                lines[i],
                f"step of {d} ms from the previous candle is not the {said} granularity "
                f"{format_granularity(step)} ({step} ms) nor a multiple of it",
            )
        gaps.append(Gap(candles[i - 1].ts_ms, d // step - 1, lines[i]))
    return CandleSeries(str(p), step, tuple(candles), tuple(gaps))


def last_timestamp(path: Path | str) -> int | None:
    """Open time (ms) of the file's last complete candle, ``None`` for a missing/empty file.

    For resuming a download: a CSV last line cut short (no newline, not a whole candle) is
    ignored; the caller truncates the file to its last newline before appending.
    """
    p = Path(path)
    if not p.exists():
        return None
    text = p.read_text(encoding="utf-8")
    if not text.strip():
        return None
    if _is_json(text):
        last: int | None = None
        for line, fields in _rows(p):
            last = _candle(fields, p, line).ts_ms
        return last
    lines = text.split("\n")
    if not text.endswith("\n"):
        try:
            tail: list[object] = [f.strip() for f in lines[-1].split(",")]
            return _candle(tail, p, len(lines)).ts_ms
        except CandleFileError:
            lines = lines[:-1]
    for i in range(len(lines) - 1, -1, -1):
        s = lines[i].strip()
        if s and not s.startswith("#") and s[0].isdigit():
            return _candle([f.strip() for f in s.split(",")], p, i + 1).ts_ms
    return None
