"""The output file of ``riskd candles download``: written page by page, resumable after a kill.

Two formats, both read by :func:`riskd.candles.read.read_candles`:

``csv``
    A header ``ts,open,high,low,close,volume`` then one candle per line, the exchange's text
    unchanged. A page is appended and ``fsync``-ed before the next request.
``json``
    Bitget's ``data`` array, one row per line::

        [
        ["1746057600000","94200.1","94251","94180.5","94222.3","12.0431","1134651.2","1134651.2"],
        ["1746057660000",...]
        ]

    A page replaces the closing ``]`` with its rows and a new ``]`` (seek, truncate, write,
    ``fsync``), so the file is a complete JSON array between pages.

Resuming (:func:`open_store`): an existing file is checked before anything is appended. A
last line cut short by a kill (CSV: no newline at the end; JSON: a row that does not parse, or
a missing ``]``) is cut off and reported as repaired; anything else that is wrong — another
header, a bad line before the end, timestamps out of order, a step that is not the
granularity — refuses the file (:class:`StoreError`, naming file and line) rather than append
to it. The download then continues after the last kept candle, so no candle is written twice.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from riskd.bitget.client_market import CandleRow, parse_row

Format = Literal["csv", "json"]
FORMATS: tuple[Format, ...] = ("csv", "json")
CSV_HEADER = "ts,open,high,low,close,volume"


class StoreError(Exception):
    """The output file cannot be resumed or written; the message names the file (and line)."""

    def __init__(
        self, path: Path, problem: str, line: int | None = None, *, io: bool = False
    ) -> None:
        self.path = path
        self.line = line
        #: True: the file cannot be read or written (not: its content is wrong).
        self.io = io
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Resume:
    """What was found in the file before appending."""

    #: Candles kept, and the first and last kept timestamps (``None`` when there are none).
    candles: int
    first_ts: int | None
    last_ts: int | None
    #: Bytes cut from the end (a line cut short by a kill).
    repaired_bytes: int
    #: The end was not as a finished page leaves it (bytes cut, or JSON's ``]`` missing).
    repaired: bool = False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.absolute().parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _csv_fields(row: CandleRow) -> str:
    return ",".join(row.raw[:6])


def _json_row(row: CandleRow) -> str:
    return json.dumps(list(row.raw), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Scan:
    """A parsed existing file: its good rows and where the good part ends."""

    rows: tuple[tuple[int, int], ...]  # (line number, ts)
    #: Offset of the end of the good part (CSV: after its last newline; JSON: after the last
    #: row's closing bracket, or after ``[`` when there are no rows).
    good_end: int


def _check_order(path: Path, rows: list[tuple[int, int]], step_ms: int) -> None:
    for (_, prev), (line, ts) in itertools.pairwise(rows):
        if ts <= prev:
            what = "duplicate" if ts == prev else "out of order"
            raise StoreError(path, f"timestamp {ts} is {what} after {prev}", line)
        if (ts - prev) % step_ms:
            raise StoreError(
                path,
                f"step of {ts - prev} ms is not a multiple of the granularity ({step_ms} ms): "
                "a file of another granularity? Give another --out",
                line,
            )


def _row_ts(path: Path, line: int, fields: object) -> int:
    try:
        return parse_row(fields, line - 1).ts
    except ValueError as exc:
        raise StoreError(path, str(exc).split(": ", 1)[-1], line) from None


def _scan_csv(path: Path, data: bytes) -> _Scan:
    end = data.rfind(b"\n") + 1  # a last line without newline was cut short by a kill
    try:
        text = data[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError(path, "not UTF-8 text: not a candle file written by riskd") from None
    lines = text.split("\n")[:-1]
    if not lines:
        return _Scan((), 0)
    if lines[0].strip() != CSV_HEADER:
        raise StoreError(path, f"first line is not the header {CSV_HEADER!r}", 1)
    rows = []
    for i, raw in enumerate(lines[1:], start=2):
        rows.append((i, _row_ts(path, i, raw.strip().split(","))))
    return _Scan(tuple(rows), end)


def _scan_json(path: Path, data: bytes) -> _Scan:
    if not data.startswith(b"[\n"):
        if data.rstrip() in (b"", b"["):
            return _Scan((), 0)
        raise StoreError(path, "does not start with '[' on its own line", 1)
    rows: list[tuple[int, int]] = []
    good_end = 1
    pos = 2
    line = 2
    closed = False
    while pos < len(data):
        nl = data.find(b"\n", pos)
        stop = len(data) if nl < 0 else nl
        text = data[pos:stop].rstrip(b"\r")
        body = text[:-1] if text.endswith(b",") else text
        if body == b"]":
            closed = True
            rest = data[stop + 1 :] if nl >= 0 else b""
            if rest.strip():
                raise StoreError(path, "text after the closing ']'", line + 1)
            break
        try:
            fields = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            if nl < 0 or not data[stop + 1 :].strip():  # the last line: cut short by a kill
                break
            raise StoreError(path, "not a JSON row", line) from None
        rows.append((line, _row_ts(path, line, fields)))
        good_end = pos + len(body)
        pos, line = stop + 1, line + 1
    if closed and not rows:
        good_end = 1
    return _Scan(tuple(rows), good_end)


class CandleStore:
    """Appends candles to one file in one format (see the module docstring)."""

    def __init__(self, path: Path, fmt: Format, handle: BinaryIO, rows: int, end: int) -> None:
        self.path = path
        self.format: Format = fmt
        self._f = handle
        self._rows = rows
        #: JSON: offset after the last row (or after ``[``); the closing ``]`` follows it.
        self._end = end

    def append(self, rows: list[CandleRow]) -> None:
        """Write ``rows`` (already checked: newer than every kept candle, in order) and fsync."""
        if not rows:
            return
        if self.format == "csv":
            text = "".join(_csv_fields(r) + "\n" for r in rows)
            self._f.seek(0, os.SEEK_END)
            self._f.write(text.encode())
        else:
            body = ",\n".join(_json_row(r) for r in rows)
            lead = ",\n" if self._rows else "\n"
            self._f.seek(self._end)
            self._f.truncate()
            payload = (lead + body).encode()
            self._f.write(payload + b"\n]\n")
            self._end += len(payload)
        self._f.flush()
        os.fsync(self._f.fileno())
        self._rows += len(rows)

    def close(self) -> None:
        self._f.close()


def open_store(path: Path, fmt: Format, step_ms: int) -> tuple[CandleStore, Resume]:
    """Open ``path`` for appending: create it with its header, or check and repair what is
    there (see the module docstring). ``step_ms``: the granularity the file must have."""
    try:
        existing = path.read_bytes() if path.exists() else None
    except OSError as exc:
        raise StoreError(path, f"cannot read: {exc.strerror}", io=True) from None
    scan = None
    if existing:
        scan = _scan_csv(path, existing) if fmt == "csv" else _scan_json(path, existing)
        _check_order(path, list(scan.rows), step_ms)
    try:
        handle = path.open("r+b" if existing else "w+b")
    except OSError as exc:
        raise StoreError(path, f"cannot write: {exc.strerror}", io=True) from None
    try:
        if scan is None or scan.good_end == 0:
            header = (CSV_HEADER + "\n") if fmt == "csv" else "[\n]\n"
            handle.seek(0)
            handle.truncate()
            handle.write(header.encode())
            handle.flush()
            os.fsync(handle.fileno())
            _fsync_dir(path)
            end = 1
            repaired = len(existing) if existing else 0
            unclean = bool(existing)
        else:
            end = cut = scan.good_end
            handle.seek(cut)
            handle.truncate()
            if fmt == "json":
                handle.write(b"\n]\n")
            handle.flush()
            os.fsync(handle.fileno())
            tail = (existing or b"")[cut:]
            clean = b"\n]\n" if fmt == "json" else b""
            repaired = 0 if tail == clean else len(tail)
            unclean = tail != clean
    except OSError as exc:
        handle.close()
        raise StoreError(path, f"cannot write: {exc.strerror}", io=True) from None
    rows = scan.rows if scan is not None else ()
    store = CandleStore(path, fmt, handle, len(rows), end)
    resume = Resume(
        len(rows),
        rows[0][1] if rows else None,
        rows[-1][1] if rows else None,
        repaired,
        unclean,
    )
    return store, resume
