"""Pure rules engine: rule model, loader, safe expressions, alert states, `riskd test` runner.

The daemon's interface (see docs/rules.md, "For developers")::

    load(paths) -> LoadResult                       # .ruleset (None on error), .problems
    reload(previous, paths) -> (RuleSet, problems)  # keeps `previous` on any error
    evaluate(rules, data, now, state) -> Evaluation # .actions, .notifications, .skipped, .state
    record_outcome(state, action_id, succeeded, now) -> EngineState
    EngineState.to_json() / EngineState.from_json(text)
"""

from riskd.rules.decisions import (
    ActionRequest,
    Evaluation,
    Notification,
    NotificationKind,
    Skipped,
)
from riskd.rules.engine import evaluate
from riskd.rules.lint import lint
from riskd.rules.loader import LoadResult, load, load_texts, reload
from riskd.rules.model import ActionKind, Level, Problem, Rule, RuleSet
from riskd.rules.state import EngineState, StateError, record_outcome

__all__ = [
    "ActionKind",
    "ActionRequest",
    "EngineState",
    "Evaluation",
    "Level",
    "LoadResult",
    "Notification",
    "NotificationKind",
    "Problem",
    "Rule",
    "RuleSet",
    "Skipped",
    "StateError",
    "evaluate",
    "lint",
    "load",
    "load_texts",
    "record_outcome",
    "reload",
]
