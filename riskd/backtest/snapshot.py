"""The starting account of a backtest: a TOML snapshot, validated (errors name the field).

    account = "main"
    symbol = "BTCUSDT"              # the symbol the candle file prices

    [scopes."isolated:BTCUSDT"]
    mmr = "0.1"                     # optional: the maintenance margin rate (tier)
    balances.BTC = { available = "0.5" }
    balances.USDT = { borrow = "12000", interest = "1.5" }

    [scopes.cross]
    mmr = { BTC = "0.1", USDT = "0.1" }   # cross: a rate per coin (or one for all)
    balances.USDT = { available = "1000" }

Amounts are decimal strings (or integers); TOML floats are refused. The coins of every scope
must be USDT or the symbol's base coin (the only price the candle file gives).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from riskd.amounts import to_decimal
from riskd.risk.snapshot import USDT, parse_scope


def _dec(value: object) -> Decimal:
    return to_decimal(value, field="value")


Dec = Annotated[Decimal, BeforeValidator(_dec), Field(ge=0)]


class SnapshotError(ValueError):
    """A snapshot file that cannot be used (names the file and the field)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BalanceSpec(_Frozen):
    available: Dec = Decimal(0)
    frozen: Dec = Decimal(0)
    borrow: Dec = Decimal(0)
    interest: Dec = Decimal(0)


class ScopeSpec(_Frozen):
    #: One rate for every coin of the scope, or one per coin (cross).
    mmr: Dec | dict[str, Dec] | None = None
    leverage: Dec | None = None
    balances: dict[str, BalanceSpec]


class AccountSnapshot(_Frozen):
    account: str = Field(min_length=1)
    symbol: str = Field(pattern=r"^[A-Z0-9]{2,20}USDT$")
    scopes: dict[str, ScopeSpec] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: dict[str, ScopeSpec]) -> dict[str, ScopeSpec]:
        for scope in value:
            parse_scope(scope)
        return value

    @property
    def base(self) -> str:
        return self.symbol[: -len(USDT)]

    def check_coins(self) -> None:
        allowed = {USDT, self.base}
        for scope, spec in self.scopes.items():
            _, sym = parse_scope(scope)
            if sym is not None and sym != self.symbol:
                raise SnapshotError(
                    f"scopes.{scope}: the candle file prices {self.symbol} only; "
                    f"isolated scopes must be isolated:{self.symbol}"
                )
            for coin in spec.balances:
                if coin not in allowed:
                    raise SnapshotError(
                        f"scopes.{scope}.balances.{coin}: no price for {coin}; the candle file "
                        f"prices {self.symbol} (coins {self.base} and USDT)"
                    )


def load_snapshot(path: Path | str) -> AccountSnapshot:
    """Read and validate a snapshot file; :class:`SnapshotError` names the file and field."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"{p}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SnapshotError(f"{p}: not valid TOML: {exc}") from None
    try:
        snap = AccountSnapshot.model_validate(doc)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"  {where}: {err['msg']}")
        raise SnapshotError(f"{p}: invalid snapshot:\n" + "\n".join(lines)) from None
    try:
        snap.check_coins()
    except SnapshotError as exc:
        raise SnapshotError(f"{p}: {exc}") from None
    return snap
