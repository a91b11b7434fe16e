"""The budget's limits come from the endpoint table, keyed per IP group or per account."""

from __future__ import annotations

import pytest

from riskd.bitget.endpoints import (
    ALL_ENDPOINTS,
    ENDPOINTS,
    PUBLIC_GLOBAL_LIMIT,
    PUBLIC_GLOBAL_WINDOW_S,
    LimitScope,
    endpoint,
)
from riskd.budget.limit_table import (
    LIMIT_TABLE,
    PUBLIC_GLOBAL,
    check_identity,
    endpoint_by_key,
    keys_for,
    rules_for,
)


def test_every_endpoint_rule_is_read_from_its_table_entry() -> None:
    """Each endpoint's own rule (v1 and v2) has the table's limit, window and scope."""
    assert set(LIMIT_TABLE) == {ep.key for ep in ALL_ENDPOINTS}
    for ep in ALL_ENDPOINTS:
        own = LIMIT_TABLE[ep.key][0]
        assert (own.name, own.limit, own.window_s, own.scope) == (
            ep.key,
            ep.limit,
            ep.window_s,
            ep.scope,
        )


def test_unsigned_endpoints_also_count_against_the_public_global_rule() -> None:
    """Public endpoints get the 20-per-2-seconds IP rule; signed ones do not."""
    public = [ep for ep in ENDPOINTS if not ep.signed]
    assert {ep.name for ep in public} >= {"server_time", "currencies", "cross_tier_data"}
    for ep in ENDPOINTS:
        names = [r.name for r in rules_for(ep)]
        assert (PUBLIC_GLOBAL in names) == (not ep.signed)
    glob = rules_for(endpoint("currencies"))[1]
    assert (glob.limit, glob.window_s, glob.scope) == (
        PUBLIC_GLOBAL_LIMIT,
        PUBLIC_GLOBAL_WINDOW_S,
        LimitScope.IP,
    )


def test_order_endpoints_keep_their_documented_lower_isolated_limit() -> None:
    """Isolated order placement is 5/s and cross 10/s, as the table says."""
    assert LIMIT_TABLE["isolated_place_order"][0].limit == 5
    assert LIMIT_TABLE["cross_place_order"][0].limit == 10


def test_uid_limits_are_keyed_by_account_and_ip_limits_by_ip_group() -> None:
    """A UID endpoint's key names the account; an IP endpoint's key names the IP group."""
    (uid_key,) = keys_for(endpoint("isolated_risk_rate"), ip_group="local", account="acct-a")
    (ip_key,) = keys_for(endpoint("cross_risk_rate"), ip_group="local", account="acct-a")
    assert (uid_key.scope, uid_key.identity) == (LimitScope.UID, "acct-a")
    assert (ip_key.scope, ip_key.identity) == (LimitScope.IP, "local")
    assert uid_key.label == "isolated_risk_rate/UID/acct-a"
    pub = keys_for(endpoint("server_time"), ip_group="office", account="acct-a")
    assert [k.label for k in pub] == ["server_time/IP/office", "public_global/IP/office"]


@pytest.mark.parametrize("bad", ["", "a/b", "has space", "-lead", "x" * 65])
def test_identities_that_cannot_key_a_limit_are_refused(bad: str) -> None:
    """Empty, slash-containing, spaced or overlong identities raise naming the setting."""
    with pytest.raises(ValueError, match="account identity"):
        check_identity(bad, "account identity")


def test_v1_and_v2_endpoints_of_one_name_are_counted_apart() -> None:
    """A v2 call's key is its own ``v2:`` rule, never its v1 counterpart's."""
    v1 = keys_for(endpoint("isolated_risk_rate"), ip_group="local", account="a")
    v2 = keys_for(endpoint("isolated_risk_rate", api="v2"), ip_group="local", account="a")
    assert [k.label for k in v1] == ["isolated_risk_rate/UID/a"]
    assert [k.label for k in v2] == ["v2:isolated_risk_rate/UID/a"]
    assert set(v1).isdisjoint(v2)


def test_endpoint_by_key_finds_both_versions_and_names_an_unknown_key() -> None:
    """A v1 name and a ``v2:`` key each find their own version; a typo raises naming it."""
    assert endpoint_by_key("cross_assets") == endpoint("cross_assets")
    assert endpoint_by_key("v2:cross_assets") == endpoint("cross_assets", api="v2")
    with pytest.raises(KeyError, match="v3:cross_assets"):
        endpoint_by_key("v3:cross_assets")
