"""The simulated Bitget margin exchange: ASGI app (API v1 and v2 over one ledger), ledger,
market, scenarios, faults.

from riskd.sim import Simulator, SimKeys, FaultSpec, load_scenario
"""

from riskd.sim.faults import FaultSpec
from riskd.sim.scenario import Scenario, ScenarioError, load_scenario, scenario_names
from riskd.sim.simulator import SimKeys, Simulator
from riskd.sim.state import AccountState, ScopeState, SimStats

__all__ = [
    "AccountState",
    "FaultSpec",
    "Scenario",
    "ScenarioError",
    "ScopeState",
    "SimKeys",
    "SimStats",
    "Simulator",
    "load_scenario",
    "scenario_names",
]
