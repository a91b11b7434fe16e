"""The endpoint table matches ENDPOINTS.md row for row."""

from __future__ import annotations

import re
from pathlib import Path

from riskd.bitget.endpoints import BY_ROUTE, ENDPOINTS, PREFIX, LimitScope

ROW = re.compile(
    r"^\| (?P<group>[a-z ]+) \| (?P<method>GET|POST) \| (?P<path>\S+) \| (?P<auth>yes|no) \| "
    r"(?P<limit>\d+)/s \| (?P<scope>IP|UID) \|$"
)


def _rows(reference_dir: Path) -> list[dict[str, str]]:
    text = (reference_dir / "ENDPOINTS.md").read_text()
    return [m.groupdict() for line in text.splitlines() if (m := ROW.match(line))]


def test_table_has_every_documented_endpoint_and_server_time(reference_dir: Path) -> None:
    """45 documented margin endpoints plus the server time make 46."""
    rows = _rows(reference_dir)
    assert len(rows) == 45
    assert len(ENDPOINTS) == 46


def test_method_limit_scope_and_auth_match_the_reference(reference_dir: Path) -> None:
    """Every row's method, signing, limit and scope are the table's."""
    for row in _rows(reference_dir):
        path = PREFIX + row["path"].split("?")[0].split("[")[0]
        ep = BY_ROUTE.get((row["method"], path))
        assert ep is not None, f"missing {row['method']} {path}"
        assert ep.signed == (row["auth"] == "yes"), path
        assert ep.limit == int(row["limit"]), path
        assert ep.scope == LimitScope(row["scope"]), path


def test_names_are_unique_identifiers() -> None:
    """Each endpoint has a unique name usable as a Python method name."""
    names = [e.name for e in ENDPOINTS]
    assert len(set(names)) == len(names)
    assert all(n.isidentifier() for n in names)


def test_protective_endpoints_are_mutating_posts() -> None:
    """Everything the budget prioritises as protective changes state through a POST."""
    for e in ENDPOINTS:
        if e.protective:
            assert e.mutating and e.method == "POST", e.name
