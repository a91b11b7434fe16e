"""`riskd check` and `riskd test`, and the shipped rules with their tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from riskd.cli.main import cli
from riskd.rules.testing import format_results, run_file

REPO = Path(__file__).parents[2]
SHIPPED_TESTS = sorted((REPO / "rules" / "tests").glob("*.toml"))

RULE = """
[[rule]]
name = "mc"
scope = "cross"
when = "riskRate >= 0.8"
for = "20s"
then = ["notify", { action = "repay", coin = "USDT", amount = "min(available, borrow)" }]
"""


REPAY_30 = '[{ action = "repay", coin = "USDT", amount = "30" }]'


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_shipped_rules_are_valid() -> None:
    """`riskd check rules/` exits 0 on the shipped examples."""
    code, out = _run("check", str(REPO / "rules"))
    assert code == 0, out
    assert "ok: " in out and "0 warning(s)" in out


@pytest.mark.parametrize("path", SHIPPED_TESTS, ids=lambda p: p.name)
def test_shipped_rule_tests_pass(path: Path) -> None:
    """Every rules/tests/*.toml passes (the shipped ladder does what its comments say)."""
    result = run_file(path)
    assert result.passed, format_results([result])


def test_there_are_shipped_rule_tests() -> None:
    """The shipped rules come with tests."""
    assert len(SHIPPED_TESTS) >= 2


def test_check_prints_every_error_and_exits_1(tmp_path: Path) -> None:
    """Invalid rules: exit 1, every error printed with file and line."""
    f = tmp_path / "bad.toml"
    f.write_text('[[rule]]\nname = "x"\nwhen = "riskrate > 1"\nfor = "soon"\n')
    code, out = _run("check", str(f))
    assert code == 1
    assert f"{f}:3: error: rule 'x', field 'when'" in out
    assert f"{f}:4: error: rule 'x', field 'for'" in out
    assert "2 error(s)" in out


def test_check_warnings_fail_only_when_strict(tmp_path: Path) -> None:
    """Lint warnings are printed; they fail the check only with --strict."""
    f = tmp_path / "odd.toml"
    f.write_text('[[rule]]\nname = "x"\nwhen = "riskRate > 5"\n')
    code, out = _run("check", str(f))
    assert code == 0 and "warning: rule 'x'" in out
    code, _ = _run("check", "--strict", str(f))
    assert code == 1


def test_check_interval_option_drives_lints(tmp_path: Path) -> None:
    """--interval changes the lints that depend on the evaluation interval."""
    f = tmp_path / "r.toml"
    f.write_text('[[rule]]\nname = "x"\nwhen = "riskRate > 0.8"\nfor = "20s"\n')
    assert "shorter than the evaluation interval" not in _run("check", str(f))[1]
    assert "shorter than the evaluation interval" in _run("check", "--interval", "30s", str(f))[1]
    code, out = _run("check", "--interval", "soon", str(f))
    assert code == 2 and "not a duration" in out


def _write_test(tmp_path: Path, expect: str, extra: str = "") -> Path:
    (tmp_path / "mc.toml").write_text(RULE)
    t = tmp_path / "mc_test.toml"
    t.write_text(
        f"""
rule_files = ["mc.toml"]
interval = "10s"

[[test]]
name = "margin call"
{extra}
[[test.data]]
at = "0s"
scope = "cross"
riskRate = "0.85"
coins.USDT = {{ available = "30", borrow = "100" }}

{expect}
"""
    )
    return t


def test_riskd_test_passes_and_fails_with_a_readable_diff(tmp_path: Path) -> None:
    """Expected actions at a time pass; a wrong expectation shows missing and unexpected."""
    good = _write_test(
        tmp_path,
        '[[test.expect]]\nat = "20s"\n'
        'actions = [{ action = "repay", coin = "USDT", amount = "30" }]\n'
        'notifications = [{ kind = "firing", rule = "mc" }]\n',
    )
    code, out = _run("test", str(good))
    assert code == 0 and "1 of 1 tests passed" in out
    bad = _write_test(
        tmp_path,
        '[[test.expect]]\nat = "10s"\nactions = [{ action = "flashRepay", rule = "mc" }]\n'
        '[[test.expect]]\nat = "20s"\nactions = []\n',
    )
    code, out = _run("test", str(bad))
    assert code == 1
    assert "FAIL" in out and "at 10s:" in out and "at 20s:" in out
    assert "- expected, missing:  flashRepay rule=mc" in out
    assert "+ got, unexpected:    repay rule=mc scope=cross coin=USDT amount=30" in out


@pytest.mark.parametrize(("result", "at_30s"), [("pending", "[]"), ("failed", REPAY_30)])
def test_outcomes_can_fail_or_never_return(tmp_path: Path, result: str, at_30s: str) -> None:
    """[[test.outcome]]: a failed cancelOrders still lets the repay follow; a pending one not."""
    extra = f'[[test.outcome]]\nrule = "mc"\naction = "cancelOrders"\nresult = "{result}"\n'
    t = _write_test(tmp_path, f'[[test.expect]]\nat = "30s"\nactions = {at_30s}\n', extra)
    (tmp_path / "mc.toml").write_text(RULE.replace('"notify", ', '"cancelOrders", '))
    t.write_text(t.read_text().replace('available = "30"', 'frozen = "5", available = "30"'))
    outcome = run_file(t)
    assert outcome.passed, format_results([outcome])


def test_broken_test_files_are_reported(tmp_path: Path) -> None:
    """Unreadable test files and rule files that do not load fail with the reason."""
    t = tmp_path / "t.toml"
    t.write_text('rule_files = ["nope.toml"]\n[[test]]\nname = "x"\n[[test.data]]\nat = "0s"\n')
    code, out = _run("test", str(t))
    assert code == 1 and "each data row needs" in out
    t.write_text('rule_files = ["nope.toml"]\n[[test]]\n[[test.data]]\nat="0s"\nscope="cross"\n')
    code, out = _run("test", str(t))
    assert code == 1 and "the rule files do not load" in out and "no such file" in out
    t.write_text('rule_files = ["x.toml"]\nintervl = "10s"\n')
    code, out = _run("test", str(t))
    assert code == 1 and "did you mean 'interval'?" in out


def test_stale_and_absent_data_rows(tmp_path: Path) -> None:
    """`stale = true` freezes observation time; `absent = true` removes the scope."""
    (tmp_path / "s.toml").write_text(
        '[[rule]]\nname = "stale"\nwhen = "dataAge > 15"\n'
        '[[rule]]\nname = "seen"\nscope = "isolated:*"\nwhen = "riskRate > 0.5"\n'
    )
    t = tmp_path / "s_test.toml"
    t.write_text(
        """
rule_files = ["s.toml"]
[[test]]
name = "stale and absent"
[[test.data]]
at = "0s"
scope = "cross"
stale = true
[[test.data]]
at = "0s"
scope = "isolated:BTCUSDT"
riskRate = "0.9"
[[test.data]]
at = "30s"
scope = "isolated:BTCUSDT"
absent = true
[[test.expect]]
at = "0s"
notifications = [{ kind = "firing", rule = "seen", scope = "isolated:BTCUSDT" }]
[[test.expect]]
at = "20s"
notifications = [{ kind = "firing", rule = "stale", scope = "cross" }]
[[test.expect]]
at = "30s"
notifications = [{ kind = "resolved", rule = "seen" }]
"""
    )
    result = run_file(t)
    assert result.passed, format_results([result])


def test_a_wrong_target_is_shown_in_the_diff(tmp_path: Path) -> None:
    """An action decided with a different target shows its target_distance, so the figure
    riskd computed can be read off the failure (here the shipped ladder's worked example)."""
    ladder = _ladder_example(tmp_path, target="0.17")
    code, out = _run("test", str(ladder))
    assert code == 1
    assert "- expected, missing:  reduce rule=de-leverage-isolated" in out
    assert "target_distance=0.17" in out and "target_distance=0.18" in out


def _ladder_example(tmp_path: Path, target: str) -> Path:
    t = tmp_path / "gap_test.toml"
    rules = (REPO / "rules" / "ladder.toml").as_posix()
    rows = "".join(
        f'[[test.data]]\nat = "{at}s"\nscope = "isolated:BTCUSDT"\nriskRate = "{rate}"\n'
        f'coins.BTC = {{ available = "0.5", price = "{price}", maintainMarginRate = "0.05" }}\n'
        + (
            'coins.USDT = { available = "0", borrow = "12000", maintainMarginRate = "0.05" }\n'
            if at == 0
            else ""
        )
        for at, rate, price in ((0, "0.2", "30000"), (10, "0.25", "28800"), (20, "0.33", "27648"))
    )
    t.write_text(
        f'rule_files = ["{rules}"]\ninterval = "1s"\n\n[[test]]\nname = "worked example"\n'
        + rows
        + '[[test.expect]]\nat = "20s"\nactions = [{ action = "reduce", '
        f'rule = "de-leverage-isolated", target_distance = "{target}" }}]\n'
    )
    return t
