"""The output file: what a kill can leave behind is repaired, anything else is refused."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from riskd.bitget.client_market import CandleRow
from riskd.candles.read import read_candles
from riskd.candles.store import CSV_HEADER, StoreError, open_store

MIN_MS = 60_000
T0 = 1_700_000_040_000


def rows(*minutes: int) -> list[CandleRow]:
    out = []
    for m in minutes:
        raw = (str(T0 + m * MIN_MS), "10", "11", "9", "10.5", "2", "21", "21")
        d = Decimal
        out.append(CandleRow(int(raw[0]), d(10), d(11), d(9), d("10.5"), d(2), raw))
    return out


def write(path: Path, fmt: str, *minutes: int) -> None:
    store, _ = open_store(path, fmt, MIN_MS)  # type: ignore[arg-type]
    store.append(rows(*minutes))
    store.close()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_pages_append_into_a_file_read_candles_reads(tmp_path: Path, fmt: str) -> None:
    """Two appends make one valid file (JSON: one array, closed after every page)."""
    path = tmp_path / f"a.{fmt}"
    store, resume = open_store(path, fmt, MIN_MS)  # type: ignore[arg-type]
    assert resume.last_ts is None
    store.append(rows(0, 1))
    if fmt == "json":
        assert len(json.loads(path.read_text())) == 2
    store.append(rows(2, 4))
    store.close()
    series = read_candles(path, granularity="1m")
    assert [c.ts_ms for c in series.candles] == [T0 + m * MIN_MS for m in (0, 1, 2, 4)]
    again, resume = open_store(path, fmt, MIN_MS)  # type: ignore[arg-type]
    again.close()
    assert (resume.candles, resume.last_ts, resume.repaired) == (4, T0 + 4 * MIN_MS, False)


@pytest.mark.parametrize(
    ("fmt", "damage", "kept"),
    [
        ("csv", lambda t: t[:-9], 2),  # the last line cut short
        ("csv", lambda t: t[:5], 0),  # even the header cut short
        ("json", lambda t: t[:-3], 3),  # the closing bracket lost (killed mid-page)
        ("json", lambda t: t[:-30], 2),  # inside the last row
        ("json", lambda t: t[:1], 0),  # only the opening bracket
    ],
)
def test_what_a_kill_leaves_is_repaired(
    tmp_path: Path, fmt: str, damage: object, kept: int
) -> None:
    """A cut last line (or header, or closing bracket) is cut off; the kept rows stay."""
    path = tmp_path / f"k.{fmt}"
    write(path, fmt, 0, 1, 2)
    path.write_text(damage(path.read_text()))  # type: ignore[operator]
    store, resume = open_store(path, fmt, MIN_MS)  # type: ignore[arg-type]
    assert resume.candles == kept and resume.repaired
    store.append(rows(3))
    store.close()
    series = read_candles(path, granularity="1m")
    assert len(series.candles) == kept + 1


@pytest.mark.parametrize(
    ("fmt", "text", "problem"),
    [
        ("csv", "time,o,h,l,c\n", "header"),
        ("csv", f"{CSV_HEADER}\n{T0},1,2,1,1,0\n{T0},1,2,1,1,0\n", "duplicate"),
        ("csv", f"{CSV_HEADER}\n{T0},1,2,1,1,0\n{T0 + 90_000},1,2,1,1,0\n", "granularity"),
        ("csv", f"{CSV_HEADER}\n{T0},1,2\n{T0 + MIN_MS},1,2,1,1,0\n", "fields"),
        ("json", '{"data": []}', "does not start with"),
        ("json", '[\n["1","1","2","1","1","0"]\n]\nmore\n', "after the closing"),
        ("json", '[\nnot json,\n["1","1","2","1","1","0"]\n]\n', "not a JSON row"),
    ],
)
def test_anything_else_is_refused_naming_the_line(
    tmp_path: Path, fmt: str, text: str, problem: str
) -> None:
    """Another header, duplicates, a foreign step, a damaged middle line: StoreError."""
    path = tmp_path / f"bad.{fmt}"
    path.write_text(text)
    with pytest.raises(StoreError, match=problem) as info:
        open_store(path, fmt, MIN_MS)  # type: ignore[arg-type]
    assert str(path) in str(info.value)
    assert path.read_text() == text  # nothing was changed
