"""The docs agree with the code (scripts/check_docs.py), and the check can fail.

Each negative test breaks one thing in a copy of docs/ (or of the daemon's source, for the
safety check) and calls the same function the script runs, on that copy.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_docs", ROOT / "scripts" / "check_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_docs"] = module
    spec.loader.exec_module(module)
    return module


check = _load()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A private copy of docs/ to break."""
    copy = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", copy)
    return copy


def edit(page: Path, old: str, new: str) -> None:
    text = page.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {page.name}"
    page.write_text(text.replace(old, new), encoding="utf-8")


def drop_line(page: Path, containing: str) -> None:
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if containing not in line]
    assert len(kept) == len(lines) - 1, f"{containing!r} is not on exactly one line"
    page.write_text("".join(kept), encoding="utf-8")


def append(page: Path, text: str) -> None:
    page.write_text(page.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def test_docs_agree_with_the_code() -> None:
    """The real docs pass every check (the script's exit 0)."""
    assert check.check_all(ROOT / "docs") == []


def test_settings_walk_reaches_nested_models() -> None:
    """Dotted keys come from the models, nested ones included, with their env names."""
    keys = {k.key: k for k in check.settings_keys()}
    assert keys["poll.stale_after"].env == "RISKD_POLL__STALE_AFTER"
    assert keys["accounts.<name>.caps.max_day_usdt"].default is None
    assert "accounts.<name>.caps.coins.<COIN>.max_action" in keys
    assert keys["notify.routes[].urls"].env == "RISKD_NOTIFY__ROUTES"
    assert keys["notify.routes[].name"].default is check.REQUIRED
    assert "metrics.port" in keys and "budget.storage_uri" in keys


def test_a_missing_setting_is_reported(docs: Path) -> None:
    """Removing one setting's row from configuration.md fails the check, naming the key."""
    drop_line(docs / "configuration.md", "| `poll.stale_after` |")
    assert check.check_configuration(docs) == [
        "configuration.md: setting `poll.stale_after` has no reference row"
    ]


def test_a_nested_setting_missing_is_reported(docs: Path) -> None:
    """A key three models deep (account caps per coin) is checked too."""
    drop_line(docs / "configuration.md", "| `accounts.<name>.caps.coins.<COIN>.max_day` |")
    problems = check.check_configuration(docs)
    assert any("accounts.<name>.caps.coins.<COIN>.max_day" in p for p in problems)


def test_a_wrong_default_or_env_is_reported(docs: Path) -> None:
    """A documented default or environment variable that differs from the code fails."""
    page = docs / "configuration.md"
    edit(page, "| `5s` | `RISKD_POLL__INTERVAL` |", "| `7s` | `RISKD_POLL__INTERVAL` |")
    edit(page, "`RISKD_METRICS__PORT`", "`RISKD_METRICS_PORT`")
    problems = check.check_configuration(docs)
    assert any("`poll.interval` default is '`7s`'" in p for p in problems)
    assert any("`metrics.port` row does not name `RISKD_METRICS__PORT`" in p for p in problems)


def test_a_key_that_does_not_exist_is_reported(docs: Path) -> None:
    """A reference row for a setting the code does not have fails."""
    append(
        docs / "configuration.md",
        "| key | type | default | env | meaning |\n|---|---|---|---|---|\n"
        "| `poll.jitter` | duration | `1s` | `RISKD_POLL__JITTER` | gone |",
    )
    problems = check.check_configuration(docs)
    assert "configuration.md: `poll.jitter` is documented but is not a setting" in problems


def test_missing_env_var_credential_file_and_example(docs: Path) -> None:
    """Other RISKD_* variables, credential file names and the example config are required."""
    page = docs / "configuration.md"
    page.write_text(
        page.read_text(encoding="utf-8")
        .replace("`RISKD_LOG_LEVEL`", "RISKD-LOG-LEVEL")
        .replace("`<account>_api_rsa_key`", "per-account RSA key")
        .replace("max_day_usdt = 10000               # rolling 24 hours", "max_day_usdt = 1"),
        encoding="utf-8",
    )
    problems = check.check_configuration(docs)
    assert "configuration.md: environment variable `RISKD_LOG_LEVEL` is not documented" in problems
    assert "configuration.md: credential file `<account>_api_rsa_key` is not documented" in problems
    assert any("EXAMPLE_CONFIG" in p for p in problems)


def test_rule_names_actions_and_fields_are_required(docs: Path) -> None:
    """A missing variable, function, action parameter or rule field, or a wrong default, fails."""
    page = docs / "rules.md"
    drop_line(page, "| `dataAge` |")
    drop_line(page, "| `rate(")
    edit(page, "**one of** `amount` (expression) or `target_risk_rate`", "an amount")
    edit(page, '| `cooldown` | no | `"1m"` |', '| `cooldown` | no | `"5m"` |')
    problems = check.check_rules(docs)
    assert "rules.md: variable `dataAge` has no table row" in problems
    assert "rules.md: function `rate(…)` has no table row" in problems
    assert "rules.md: action `repay` row does not name parameter `target_risk_rate`" in problems
    assert any(p.startswith("rules.md: rule field `cooldown` default is") for p in problems)


def test_an_unknown_name_in_a_variable_table_fails(docs: Path) -> None:
    """A variable documented in a name/meaning table that the engine does not know fails."""
    edit(docs / "rules.md", "| `openOrders` |", "| `openOrderCount` |")
    problems = check.check_rules(docs)
    assert "rules.md: variable `openOrders` has no table row" in problems
    assert "rules.md: `openOrderCount` is in a variable table but is not a name" in problems


def test_metrics_and_labels_are_required(docs: Path) -> None:
    """Every series of Metrics needs a row naming its labels in operations.md."""
    page = docs / "operations.md"
    drop_line(page, "| `riskd_missed_ticks_total` |")
    edit(page, "| `riskd_live` | `account` |", "| `riskd_live` | |")
    problems = check.check_operations(docs)
    assert problems == [
        "operations.md: metric `riskd_live` row does not name `account`",
        "operations.md: metric `riskd_missed_ticks_total` has no table row",
    ]


def test_unknown_commands_and_options_fail(docs: Path) -> None:
    """A `riskd <command>` or `--option` the CLI does not have is reported with its page."""
    append(
        docs / "quickstart.md",
        "Run `riskd frobnicate` or `riskd run --dry` or `riskd sim serve --fast`.",
    )
    problems = check.check_commands(docs)
    assert "quickstart.md: `riskd frobnicate` is not a riskd command" in problems
    assert "quickstart.md: `riskd run` has no option --dry" in problems
    assert "quickstart.md: `riskd sim serve` has no option --fast" in problems


def test_every_command_must_be_shown(tmp_path: Path) -> None:
    """A set of pages that never shows a command fails for each command missing."""
    (tmp_path / "README.md").write_text("`riskd run --live`\n", encoding="utf-8")
    problems = check.check_commands(tmp_path)
    assert "docs: command `riskd demo` is not shown on any page" in problems
    assert not any("riskd run`" in p for p in problems)


def test_command_parsing() -> None:
    """Commands are read from code only: sudo -u riskd, console prompts, comments, output."""
    text = (
        "riskd keeps accounts safe; `sudo -u riskd riskd pause --account main`\n"
        "```console\n$ riskd status --json\nriskd running (output)\n```\n"
        "```sh\nsystemctl status riskd   # riskd sends READY\njournalctl -u riskd -f\n```\n"
        "```text\nriskd compiled batch\n```\n"
    )
    uses = list(check.command_uses(text))
    assert uses == [(["pause"], ["--account"]), (["status"], ["--json"])]


def test_unknown_env_and_metric_names_fail(docs: Path) -> None:
    """A misspelt RISKD_* variable or riskd_* series anywhere in the docs fails."""
    append(docs / "operations.md", "Set RISKD_POLL_INTERVAL, watch riskd_risk_rates.")
    problems = check.check_names(docs)
    assert (
        "operations.md: `RISKD_POLL_INTERVAL` is not an environment variable riskd reads"
        in problems
    )
    assert "operations.md: metric `riskd_risk_rates` does not exist" in problems
    assert not any("RISKD_ACCOUNTS__MAIN__LIVE" in p for p in problems)


def test_broken_links_and_index(docs: Path) -> None:
    """Relative links need their file and heading; README.md must link every page."""
    append(docs / "safety.md", "See [x](nowhere.md), [y](rules.md#no-such-heading), [z](#caps).")
    edit(docs / "README.md", "[architecture.md](architecture.md)", "architecture")
    problems = check.check_links(docs)
    assert "safety.md: link to nowhere.md: no such file" in problems
    assert "safety.md: link to rules.md#no-such-heading: no heading #no-such-heading" in problems
    assert not any("#caps" in p for p in problems)
    assert "README.md: page architecture.md is not in the index" in problems


def test_code_pointers_must_exist(docs: Path) -> None:
    """Repository paths and tests named in code spans must exist."""
    append(
        docs / "safety.md",
        "`tests/daemon/test_actions.py::test_no_such_test` `riskd/daemon/nothing.py` "
        "`tests/daemon/test_actions.py::test_stale_scope_refused`",
    )
    problems = check.check_paths(docs)
    assert problems == [
        "safety.md: `tests/daemon/test_actions.py::test_no_such_test`: "
        "tests/daemon/test_actions.py defines no test_no_such_test",
        "safety.md: `riskd/daemon/nothing.py`: no such path in the repository",
    ]


def test_safety_check_catches_a_borrowing_daemon(docs: Path, tmp_path: Path) -> None:
    """A daemon module calling a borrow endpoint, or asking for autoLoan, fails the check."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "riskd" / "daemon", root / "riskd" / "daemon")
    assert check.check_safety(docs, root) == []
    (root / "riskd" / "daemon" / "greedy.py").write_text(
        "async def more(client):\n"
        "    await client.cross_borrow(coin='USDT', borrow_amount=1)\n"
        "    return 'autoLoan'\n",
        encoding="utf-8",
    )
    problems = check.check_safety(docs, root)
    assert any("cross_borrow" in p and "not protective" in p for p in problems)
    assert any("greedy.py mentions autoLoan" in p for p in problems)


def test_safety_page_must_list_the_endpoints_used(docs: Path) -> None:
    """Each protective endpoint the daemon calls must be named on safety.md."""
    edit(docs / "safety.md", "`cross_batch_cancel_order`, ", "")
    assert check.check_safety(docs) == [
        "safety.md: the daemon calls `cross_batch_cancel_order`; list it"
    ]


def test_script_exit_status(docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """main() exits 0 on the real docs and 1 with the problems listed on a broken copy."""
    assert check.main(["check_docs.py", str(ROOT / "docs")]) == 0
    drop_line(docs / "configuration.md", "| `metrics.host` |")
    assert check.main(["check_docs.py", str(docs)]) == 1
    out = capsys.readouterr().out
    assert "docs check: 1 problem(s)" in out
    assert "setting `metrics.host` has no reference row" in out
