"""The daemon's settings for a demo run, and where the shipped rules are.

The demo builds :class:`~riskd.settings.Settings` in code — every account the simulator
opened, with its keys, **live** (the simulator is not an exchange) — and reads nothing from
the user's environment or credential directory: a ``RISKD_LIVE=false`` or a real API key in
the shell must not change, or leak into, a rehearsal.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

import riskd
from riskd.settings import AccountSettings, MetricsSettings, PollSettings, Settings
from riskd.sim.simulator import SimKeys

#: Where the shipped rules may be, in order: ./rules (a checkout), next to the package
#: (an editable install), and the copies packaged with riskd.
RULES_DIRNAME = "rules"


class DemoSettings(Settings):
    """Settings from the constructor only (no environment, no credential files)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(
    keys: Mapping[str, SimKeys],
    rules_dir: Path,
    journal_path: Path,
    base_url: str,
    poll: PollSettings,
    api: Literal["v1", "v2"] = "v2",
) -> Settings:
    """Live settings for every simulated account (cross and every isolated symbol held),
    speaking ``api`` (v2 by default; v1 is the legacy API the simulator still serves)."""
    accounts = {
        name: AccountSettings(
            api_key=k.api_key,
            api_secret=k.secret,
            api_passphrase=k.passphrase,
            cross=True,
            discover_isolated=True,
            api=api,
        )
        for name, k in keys.items()
    }
    settings = DemoSettings(
        live=True,
        base_url=base_url,
        rules_dir=rules_dir,
        journal_path=journal_path,
        accounts=accounts,
        poll=poll,
        metrics=MetricsSettings(enabled=False),
    )
    settings.register_secrets()
    return settings


def _has_rules(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*.toml"))


def find_rules_dir(explicit: Path | None = None, cwd: Path | None = None) -> Path:
    """The rules directory to use: ``explicit``, else ``./rules``, else the repository's
    ``rules/`` beside the installed package, else the package's built-in copy.

    Raises ``FileNotFoundError`` naming every place looked at.
    """
    if explicit is not None:
        if not _has_rules(explicit):
            raise FileNotFoundError(f"--rules {explicit}: not a directory with *.toml rule files")
        return explicit
    here = Path(riskd.__file__).resolve().parent
    candidates = [
        (cwd or Path.cwd()) / RULES_DIRNAME,
        here.parent / RULES_DIRNAME,
        here / "rules_builtin",
    ]
    for candidate in candidates:
        if _has_rules(candidate):
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no rule files found (looked in {looked}); give --rules DIR")
