"""Label matchers as in Alertmanager: ``name=value``, ``name!=value``, ``name=~regex``,
``name!~regex``. Pure.

Regular expressions are anchored (``rule=~de-leverage.*`` matches ``de-leverage-btc``, not
``x-de-leverage``). A label an alert lacks has the value ``""``. Values may be quoted
(``kind="stale"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


class MatchOp(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


class MatcherError(ValueError):
    """A matcher that cannot be parsed; the message shows it and says why."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``account=alice`` → Matcher; :class:`MatcherError` names the problem."""
        m = _MATCHER.match(text)
        if m is None:
            raise MatcherError(
                f"matcher {text!r}: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX"
            )
        name, op, value = m.group(1), MatchOp(m.group(2)), m.group(3)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        regex = None
        if op in (MatchOp.RE, MatchOp.NRE):
            try:
                regex = re.compile(f"(?:{value})")
            except re.error as exc:
                raise MatcherError(f"matcher {text!r}: bad regular expression: {exc}") from None
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(actual) is not None
        return hit if self.op is MatchOp.RE else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op.value}{self.value}"


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """Parse several matchers; every problem is reported at once."""
    out: list[Matcher] = []
    problems: list[str] = []
    for text in texts:
        try:
            out.append(Matcher.parse(text))
        except MatcherError as exc:
            problems.append(str(exc))
    if problems:
        raise MatcherError("; ".join(problems))
    return tuple(out)


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def valid_label_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None
