"""The candle file reader: every accepted shape, and every bad input named by file and line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from riskd.candles.read import (
    Candle,
    CandleFileError,
    granularity_ms,
    last_timestamp,
    read_candles,
)

T0 = 1_700_000_040_000
ROWS = [
    [str(T0), "10", "11", "9", "10.5", "1.5", "15", "15"],
    [str(T0 + 60_000), "10.5", "12", "10", "11", "2", "22", "22"],
]
SAMPLE = Path(__file__).resolve().parents[2] / "scenarios/candles/synthetic-btcusdt-1m.csv"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def csv(*lines: str, header: bool = True) -> str:
    head = ["ts,open,high,low,close,volume"] if header else []
    return "\n".join([*head, *lines]) + "\n"


def expect_error(path: Path, line: int | None, words: str, gran: str | None = None) -> None:
    with pytest.raises(CandleFileError) as info:
        read_candles(path, granularity=gran)
    assert info.value.line == line
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_reads_bitget_response_envelope(tmp_path: Path) -> None:
    """The whole v2 candles response ({"code":"00000","data":[...]}) is read in Decimals."""
    p = write(tmp_path, "c.json", json.dumps({"code": "00000", "msg": "success", "data": ROWS}))
    s = read_candles(p, granularity="1m")
    assert s.candles[0] == Candle(
        T0, Decimal(10), Decimal(11), Decimal(9), Decimal("10.5"), Decimal("1.5")
    )
    assert s.granularity_ms == 60_000 and len(s.candles) == 2


def test_reads_bare_data_array_and_mix_rows(tmp_path: Path) -> None:
    """The bare data array, with 7-field (mix) rows, is accepted."""
    p = write(tmp_path, "c.json", json.dumps([r[:7] for r in ROWS], indent=1))
    assert [c.close for c in read_candles(p).candles] == [Decimal("10.5"), Decimal(11)]


def test_reads_json_lines(tmp_path: Path) -> None:
    """One row array per line (an appending download) is accepted."""
    p = write(tmp_path, "c.jsonl", "\n".join(json.dumps(r) for r in ROWS) + "\n")
    assert len(read_candles(p, granularity="1m").candles) == 2


def test_reads_csv_with_and_without_header(tmp_path: Path) -> None:
    """CSV with or without its header, with comments and without a volume column."""
    a = write(tmp_path, "a.csv", csv(f"{T0},10,11,9,10.5,1", f"{T0 + 60000},10.5,12,10,11,2"))
    b = write(tmp_path, "b.csv", f"# synthetic\n{T0},10,11,9,10.5\n{T0 + 60000},10.5,12,10,11\n")
    assert read_candles(a).candles[1].volume == Decimal(2)
    assert read_candles(b).candles[1].volume == Decimal(0)


def test_error_response_is_refused(tmp_path: Path) -> None:
    """An exchange error response names its code."""
    p = write(tmp_path, "e.json", json.dumps({"code": "40034", "msg": "bad", "data": None}))
    expect_error(p, 1, "code 40034")


def test_duplicate_timestamp(tmp_path: Path) -> None:
    """A repeated timestamp is an error on its line, naming the first one."""
    p = write(tmp_path, "d.csv", csv(f"{T0},10,11,9,10", f"{T0},10,11,9,10"))
    expect_error(p, 3, "duplicate timestamp")


def test_unordered_timestamp(tmp_path: Path) -> None:
    """A timestamp before the previous one is an error on its line."""
    p = write(tmp_path, "u.csv", csv(f"{T0 + 60000},10,11,9,10", f"{T0},10,11,9,10"))
    expect_error(p, 3, "unordered")


def test_high_below_low(tmp_path: Path) -> None:
    """high < low is an error on its line."""
    p = write(tmp_path, "h.csv", csv(f"{T0},10,9,11,10"))
    expect_error(p, 2, "high 9 is below low 11")


def test_open_and_close_outside_range(tmp_path: Path) -> None:
    """An open or a close outside [low, high] is an error on its line."""
    expect_error(write(tmp_path, "o.csv", csv(f"{T0},13,12,9,10")), 2, "open 13 is outside")
    expect_error(write(tmp_path, "c.csv", csv(f"{T0},10,12,9,8")), 2, "close 8 is outside")


def test_non_numeric_field(tmp_path: Path) -> None:
    """A field that is not a number names the field and the line."""
    expect_error(write(tmp_path, "n.csv", csv(f"{T0},10,abc,9,10")), 2, "high 'abc'")
    expect_error(write(tmp_path, "t.csv", csv("17x,10,11,9,10", header=False)), 1, "ts")


def test_json_floats_are_refused(tmp_path: Path) -> None:
    """Prices written as JSON numbers with a fraction are refused (never parsed as floats)."""
    p = write(tmp_path, "f.json", json.dumps([[str(T0), 10.5, "11", "9", "10"]]))
    expect_error(p, 1, "float")


def test_wrong_granularity(tmp_path: Path) -> None:
    """A step that is not the declared granularity (nor a multiple) is an error on its line."""
    p = write(tmp_path, "g.csv", csv(f"{T0},10,11,9,10", f"{T0 + 60000},10,11,9,10"))
    expect_error(p, 3, "declared granularity 5m", gran="5m")
    q = write(
        tmp_path,
        "q.csv",
        csv(f"{T0},10,11,9,10", f"{T0 + 60000},10,11,9,10", f"{T0 + 150000},10,11,9,10"),
    )
    expect_error(q, 4, "inferred granularity 1m")


def test_truncated_last_line_csv(tmp_path: Path) -> None:
    """A CSV last line cut short (no newline) is named as truncated."""
    p = write(tmp_path, "t.csv", f"ts,open,high,low,close\n{T0},10,11,9,10\n{T0 + 60000},10,1")
    expect_error(p, 3, "truncated last line")


def test_truncated_json(tmp_path: Path) -> None:
    """A JSON file cut in its last row is named as truncated, with the line."""
    text = json.dumps(ROWS, indent=1)
    p = write(tmp_path, "t.json", text[: len(text) - 12])
    with pytest.raises(CandleFileError, match="truncated"):
        read_candles(p)


def test_gaps_are_a_warning_with_count_and_choice(tmp_path: Path) -> None:
    """Missing candles are listed, counted, and the warning says the choice made."""
    p = write(
        tmp_path,
        "g.csv",
        csv(f"{T0},10,11,9,10", f"{T0 + 240000},10,11,9,10", f"{T0 + 300000},10,11,9,10"),
    )
    s = read_candles(p, granularity="1m")
    assert s.missing == 3 and len(s.gaps) == 1
    warning = s.gap_warning()
    assert (
        warning is not None
        and "1 gap(s), 3 missing" in warning
        and "holds the last close" in warning
    )


def test_granularity_names() -> None:
    """Bitget's spot and mix granularity spellings are understood; months are refused."""
    assert granularity_ms("1min") == granularity_ms("1m") == 60_000
    assert granularity_ms("4H") == granularity_ms("4h") == 4 * 3_600_000
    assert granularity_ms("1day") == granularity_ms("1D") == 86_400_000
    with pytest.raises(ValueError, match="months"):
        granularity_ms("1M")


def test_last_timestamp_for_resume(tmp_path: Path) -> None:
    """last_timestamp gives the last complete candle, ignoring a cut last line."""
    p = write(tmp_path, "r.csv", f"ts,open,high,low,close\n{T0},10,11,9,10\n{T0 + 60000},10,1")
    assert last_timestamp(p) == T0
    assert last_timestamp(tmp_path / "missing.csv") is None
    j = write(tmp_path, "r.json", json.dumps({"code": "00000", "data": ROWS}))
    assert last_timestamp(j) == T0 + 60_000


def test_sample_file_is_labelled_synthetic() -> None:
    """The shipped sample says it is synthetic and reads as 3000 one-minute candles."""
    assert "SYNTHETIC" in SAMPLE.read_text().splitlines()[0]
    s = read_candles(SAMPLE, granularity="1m")
    assert len(s.candles) == 3000 and not s.gaps
