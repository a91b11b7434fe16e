"""Loading rule files: every error at once, with file, line, rule and field; atomic reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskd.rules.loader import load, load_texts, reload
from riskd.rules.model import ActionKind, Level

from .helpers import ruleset

GOOD = """
[defaults]
cooldown = "2m"
severity = "critical"
labels = { team = "ops" }

[[rule]]
name = "margin-call"
scope = ["cross", "isolated:*"]
when = "riskRate >= warningRiskRatio"
for = "30s"
then = [
  "notify",
  "cancelOrders",
  { action = "flashRepay" },
]
labels = { page = "yes" }

[[rule]]
name = "warn"
when = "riskRate > 0.6"
severity = "info"
"""


def test_a_good_file_loads_with_defaults_applied() -> None:
    """[defaults] fill what a rule leaves out; a rule's own values and labels win / merge."""
    rules = ruleset(GOOD)
    mc, warn = rules.rules
    assert (mc.cooldown, mc.severity, mc.for_) == (120.0, "critical", 30.0)
    assert dict(mc.labels) == {"team": "ops", "page": "yes"}
    assert [a.kind for a in mc.then] == [
        ActionKind.NOTIFY,
        ActionKind.CANCEL_ORDERS,
        ActionKind.FLASH_REPAY,
    ]
    assert mc.scope.patterns == ("cross", "isolated:*")
    assert (warn.severity, warn.for_, warn.keep_firing_for) == ("info", 0.0, 0.0)
    assert [a.kind for a in warn.then] == [ActionKind.NOTIFY]  # built-in default
    assert warn.scope.patterns == ("*",)
    assert (mc.file, mc.line, warn.line) == ("rules.toml", 7, 19)


ERRORS = [
    ('name = "x"\nwhen = "riskrate > 1"', 3, "x", "when", "did you mean 'riskRate'?"),
    ('name = "x"\nwhen = "riskRate > 1"\nfor = 30', 4, "x", "for", "has no unit"),
    ('name = "x"\nwhen = "riskRate > 1"\nfor = "-5s"', 4, "x", "for", "is negative"),
    (
        'name = "x"\nwhen = "riskRate > 1"\ncooldown = "9d"',
        4,
        "x",
        "cooldown",
        "longer than 7d",
    ),
    ('name = "x"\nwhen = "riskRate > 1"\nseverity = "critcal"', 4, "x", "severity", "'critical'"),
    ('name = "x"\nwhen = "riskRate > 1"\nscope = "crosss"', 4, "x", "scope", "'cross'"),
    ('name = "x"\nwhen = "riskRate > 1"\nscope = "isolated:"', 4, "x", "scope", "is not one of"),
    ('name = "x"\nwhen = "riskRate > 1"\nscope = []', 4, "x", "scope", "empty list"),
    ('name = "x"\nwhen = "riskRate > 1"\ncolldown = "1m"', 4, "x", "colldown", "'cooldown'"),
    ('name = "x"', 1, "x", "when", "missing 'when'"),
    ('when = "riskRate > 1"', 1, "#1", "name", "give each rule a name"),
    ('name = "a b"\nwhen = "riskRate > 1"', 2, "#1", "name", "letters, digits"),
    ('name = "x"\nwhen = "riskRate > 1"\nthen = []', 4, "x", "then", "at least one action"),
    ('name = "x"\nwhen = "riskRate > 1"\nthen = ["notfy"]', 4, "x", "then", "'notify'"),
    ('name = "x"\nwhen = "riskRate > 1"\nthen = ["repay"]', 4, "x", "then", "missing coin"),
    (
        'name = "x"\nwhen = "riskRate > 1"\nthen = [{ action = "repay", amount = "1" }]',
        4,
        "x",
        "then",
        "missing coin",
    ),
    (
        'name = "x"\nwhen = "riskRate > 1"\n'
        'then = [{ action = "repay", coin = "USDT", amount = "borow" }]',
        4,
        "x",
        "then",
        "then[0] (repay) amount: unknown name 'borow' (did you mean 'borrow'?)",
    ),
    (
        'name = "x"\nwhen = "riskRate > 1"\n'
        'then = [{ action = "repay", coin = "USDT", amount = "1", colour = "red" }]',
        4,
        "x",
        "then",
        "unknown parameter 'colour'",
    ),
    (
        'name = "x"\nwhen = "riskRate > 1"\n'
        'then = [{ action = "repay", coin = "base", amount = "1" }]',
        4,
        "x",
        "then",
        "all isolated",
    ),
    (
        'name = "x"\nscope = "isolated:*"\nwhen = "riskRate > 1"\n'
        'then = [{ action = "flashRepay", coin = "BTC" }]',
        5,
        "x",
        "then",
        "only applies in the cross scope",
    ),
    (
        'name = "x"\nscope = "cross"\nwhen = "riskRate > 1"\n'
        'then = [{ action = "reduce", amount = "available" }]',
        5,
        "x",
        "then",
        'reduce needs symbol = "BTCUSDT"',
    ),
    (
        'name = "x"\nwhen = "riskRate > 1"\nthen = [{ action = "reduce", amount = "1" }]',
        4,
        "x",
        "then",
        "split the rule",
    ),
    (
        'name = "x"\nscope = "isolated:*"\nwhen = "riskRate > 1"\n'
        'then = [{ action = "reduce", amount = "1", target_risk_rate = 0.5 }]',
        5,
        "x",
        "then",
        "give exactly one of amount",
    ),
    (
        'name = "x"\nscope = "isolated:*"\nwhen = "riskRate > 1"\nthen = [{ action = "reduce" }]',
        5,
        "x",
        "then",
        "or target_risk_rate = 0.5",
    ),
    (
        'name = "x"\nwhen = "riskRate > 1"\nmessage = "rate {riskrate}"',
        4,
        "x",
        "message",
        "in {riskrate}: unknown name",
    ),
    ('name = "x"\nwhen = "riskRate > 1"\nmessage = "a { b"', 4, "x", "message", "unmatched '{'"),
    (
        'name = "x"\nwhen = "riskRate > 1"\nlabels = { team = 5 }',
        4,
        "x",
        "labels",
        "text in quotes",
    ),
    ('name = "x"\nwhen = "riskRate > 1"\nenabled = "no"', 4, "x", None, "true or false"),
]


@pytest.mark.parametrize(("body", "line", "rule", "field", "message"), ERRORS)
def test_every_error_class_names_file_line_rule_and_field(
    body: str, line: int, rule: str, field: str | None, message: str
) -> None:
    """Each kind of mistake is reported with where it is and a message saying what to do."""
    result = load_texts([("f.toml", "[[rule]]\n" + body + "\n")])
    assert result.ruleset is None
    problem = result.errors[0]
    assert (problem.file, problem.line, problem.rule, problem.field) == (
        "f.toml",
        line,
        rule,
        field,
    )
    assert message in problem.message
    assert str(problem).startswith(f"f.toml:{line}: error:")


def test_all_errors_of_all_files_are_reported_at_once() -> None:
    """A load reports every problem in every file, not just the first."""
    bad1 = '[[rule]]\nname = "a"\nwhen = "nope > 1"\nfor = "x"\n'
    bad2 = '[[rule]]\nname = "b"\nwhen = "riskRate >"\n[[rule]]\nname = "c"\nseverity = "hi"\n'
    result = load_texts([("one.toml", bad1), ("two.toml", bad2)])
    found = {(p.file, p.rule, p.field) for p in result.errors}
    assert found == {
        ("one.toml", "a", "when"),
        ("one.toml", "a", "for"),
        ("two.toml", "b", "when"),
        ("two.toml", "c", "when"),
        ("two.toml", "c", "severity"),
    }


def test_toml_syntax_errors_carry_the_line() -> None:
    """A TOML syntax error is reported with the line tomllib gives."""
    result = load_texts([("s.toml", '[[rule]]\nname = "x"\nwhen = "riskRate > 1\n')])
    (problem,) = result.errors
    assert problem.line == 3 and "not valid TOML" in problem.message


def test_unknown_top_level_keys_and_default_keys() -> None:
    """Misspelt tables and defaults that cannot be defaulted are errors."""
    text = '[defualts]\nfor = "1m"\n[defaults]\nname = "x"\n'
    messages = [p.message for p in load_texts([("d.toml", text)]).errors]
    assert any("unknown top-level key 'defualts' (did you mean 'defaults'?)" in m for m in messages)
    assert any("'name' cannot have a default" in m for m in messages)


def test_duplicate_names_across_files() -> None:
    """Rule names are unique across files; the second is an error pointing at the first."""
    rule = '[[rule]]\nname = "same"\nwhen = "riskRate > 1"\n'
    result = load_texts([("a.toml", rule), ("b.toml", rule)])
    (problem,) = result.errors
    assert problem.file == "b.toml" and "first defined at a.toml:1" in problem.message


def test_a_duplicate_name_is_reported_beside_the_rules_other_errors() -> None:
    """Both rules named "same" are broken: their errors and the duplicate come at once."""
    first = '[[rule]]\nname = "same"\nwhen = "riskRate >"\n'
    second = '[[rule]]\nname = "same"\nwhen = "riskRate > 1"\nfor = "5 minutes"\n'
    result = load_texts([("a.toml", first), ("b.toml", second)])
    assert [(p.file, p.line, p.field) for p in result.errors] == [
        ("a.toml", 3, "when"),
        ("b.toml", 1, "name"),
        ("b.toml", 4, "for"),
    ]
    assert "first defined at a.toml:1" in result.errors[1].message


def test_disabled_rules_are_skipped_unchecked() -> None:
    """`enabled = false` switches a rule off without checking the rest of it."""
    text = '[[rule]]\nname = "off"\nenabled = false\nwhen = "this is broken"\n'
    result = load_texts([("e.toml", text)])
    assert result.ruleset is not None and len(result.ruleset) == 0


def test_load_reads_directories_and_reports_missing_paths(tmp_path: Path) -> None:
    """Directories give their *.toml files (sorted); a missing path is an error."""
    (tmp_path / "b.toml").write_text('[[rule]]\nname = "b"\nwhen = "riskRate > 1"\n')
    (tmp_path / "a.toml").write_text('[[rule]]\nname = "a"\nwhen = "riskRate > 1"\n')
    (tmp_path / "notes.txt").write_text("not a rule file")
    result = load([tmp_path])
    assert result.ruleset is not None
    assert [r.name for r in result.ruleset.rules] == ["a", "b"]
    missing = load([tmp_path / "nope"])
    assert missing.ruleset is None and "no such file" in missing.errors[0].message


def test_reload_is_atomic(tmp_path: Path) -> None:
    """A reload with any error keeps the previous set in force and returns the errors."""
    f = tmp_path / "r.toml"
    f.write_text('[[rule]]\nname = "one"\nwhen = "riskRate > 0.8"\n')
    first = load([f]).ruleset
    assert first is not None
    f.write_text('[[rule]]\nname = "one"\nwhen = "riskRate > 0.9"\n[[rule]]\nname = "two"\n')
    kept, problems = reload(first, [f])
    assert kept is first and problems and problems[0].level == Level.ERROR
    f.write_text('[[rule]]\nname = "two"\nwhen = "riskRate > 0.9"\n')
    fresh, problems = reload(first, [f])
    assert fresh is not first and fresh.names == {"two"} and problems == ()


def test_rule_set_is_immutable() -> None:
    """RuleSet and its rules are frozen values."""
    rules = ruleset(GOOD)
    with pytest.raises(AttributeError):
        rules.rules = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        rules.rules[0].name = "x"  # type: ignore[misc]
