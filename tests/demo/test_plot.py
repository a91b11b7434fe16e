"""The timeline pictures: a real PNG and a standalone HTML page with markers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from riskd.demo.plot import write_html, write_png
from riskd.demo.timeline import Marker, Sample, Timeline

D = Decimal


def timeline() -> Timeline:
    samples = []
    for i in range(40):
        t = float(i)
        price = D(30000) - D(300) * max(0, i - 10)
        rate = D("0.2") + D("0.03") * max(0, i - 10) if i < 30 else D("0.4")
        if i == 29:
            rate = D("Infinity")
        samples.append(
            Sample(t, {"BTCUSDT": price, "ETHUSDT": D(2000)}, {"main/isolated:BTCUSDT": rate})
        )
    markers = (
        Marker(29.5, "action", "flash repay <all debt>", "main/isolated:BTCUSDT"),
        Marker(31.0, "liquidation", "liquidated", "main/cross"),
        Marker(20.0, "alert", "margin call"),
    )
    return Timeline("crash", tuple(samples), markers)


def test_png_is_written(tmp_path: Path) -> None:
    """The PNG exists and is a PNG (an infinite rate is clipped, not an error)."""
    out = write_png(timeline(), tmp_path / "sub" / "crash.png")
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


def test_html_has_both_panels_and_escaped_markers(tmp_path: Path) -> None:
    """The page holds two inline SVG panels, the threshold lines and the escaped events."""
    page = write_html(timeline(), tmp_path / "crash.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    assert page.count("<polyline") == 3  # two prices, one risk rate
    assert "liquidation</text>" in page and "warning</text>" in page
    assert "flash repay &lt;all debt&gt;" in page
    assert "<script" not in page


def test_risk_at_reads_the_sample_before_an_instant() -> None:
    """A marker at t is drawn at the risk rate sampled before t (what the action saw)."""
    tl = timeline()
    assert tl.risk_at("main/isolated:BTCUSDT", 12.0) == D("0.2") + D("0.03")
    assert tl.risk_at("main/isolated:BTCUSDT", 0.0) == D("0.2")
    assert tl.risk_at("nobody/cross", 5.0) is None
    assert tl.symbols == ["BTCUSDT", "ETHUSDT"]
