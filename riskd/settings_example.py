"""The example configuration shown in docs/configuration.md and accepted as it is.

``tests/daemon/test_settings.py`` loads it and ``scripts/check_docs.py`` checks that the
documentation shows it verbatim, so it stays valid and documented.
"""

from __future__ import annotations

#: A complete, commented ``riskd.toml``.
EXAMPLE_CONFIG = """\
# /etc/riskd/riskd.toml
live = false                       # dry-run until you opt in (or: riskd run --live)
base_url = "https://api.bitget.com"
rules_dir = "/etc/riskd/rules"     # default for accounts without their own
journal_path = "/var/lib/riskd/journal.sqlite3"   # default: $STATE_DIRECTORY/journal.sqlite3

[poll]
interval = "5s"                    # normal
fast_interval = "1s"               # a scope within near_margin of its warning ratio
slow_interval = "10s"              # every scope calm (no debt, or riskRate < calm_below)
near_margin = 0.15
near_distance = 0.05               # or closer to liquidation than a 5 % adverse move
calm_below = 0.3
price_move = 0.005                 # a held or owed coin's index price moved 0.5 %: poll now
stale_after = "30s"                # older data: critical alert, no action on that scope
reference_ttl = "5m"               # currencies, tier data
flash_repay_timeout = "10s"

[budget]
safety_margin = 0.1                # share of each documented limit left unused
reserved_share = 0.3               # share kept for protective calls
storage_uri = "memory://"          # redis://host:6379 when several daemons share an IP

[metrics]
enabled = true
host = "127.0.0.1"
port = 9464

[prices]                           # USDT index prices (WebSocket index-price channel)
enabled = true
# ws_url = "wss://ws.bitget.com/v2/ws/public"     # default: derived from base_url
max_age = "30s"                    # an older price is dropped, never acted on

[accounts.main]                    # credentials: files main_api_key, main_api_secret,
cross = true                       # main_api_passphrase in $CREDENTIALS_DIRECTORY
isolated = ["BTCUSDT"]             # always watched ...
discover_isolated = true           # ... plus every isolated symbol the account holds
live = false                       # dry-run; to go live set true here (this account only)
                                   # or top-level live = true, or riskd run --live

[accounts.main.caps]
max_action_usdt = 2000             # one action moves at most this much (repays are reduced)
max_day_usdt = 10000               # rolling 24 hours
coins.BTC = { max_action = 0.05, max_day = 0.2 }

[[notify.routes]]
name = "phone"
urls = ["tgram://123456789:AAExampleExampleExampleExampleExam/987654321"]  # bot token / chat id
"""
