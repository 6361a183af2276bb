"""Scenario files: YAML -> a validated, fully resolved :class:`Scenario`.

The format is documented for users in docs/scenario-format.md. The pieces:
``source`` (YAML with line numbers), ``nodes``, ``faults`` + ``schedule``,
``contracts`` (one section each), ``values`` (option types), ``limits``
(upper bounds on every count and size, reserved node names), ``errors``
(``file:line: field: message``), ``warnings`` (``zchaos check`` advice on
schedules that cannot prove what they claim), ``loader`` (files, folders,
``zchaos check``), ``model`` (what the rest of the harness reads).
"""

from harness.scenario.errors import ScenarioError, ScenarioErrors
from harness.scenario.loader import (
    check_paths,
    discover,
    load_paths,
    load_scenario,
    load_text,
    scenario_from_dict,
)
from harness.scenario.model import (
    ConnectTarget,
    ContractSpec,
    Edge,
    Expectation,
    Fault,
    Node,
    Scenario,
)

__all__ = [
    "ConnectTarget",
    "ContractSpec",
    "Edge",
    "Expectation",
    "Fault",
    "Node",
    "Scenario",
    "ScenarioError",
    "ScenarioErrors",
    "check_paths",
    "discover",
    "load_paths",
    "load_scenario",
    "load_text",
    "scenario_from_dict",
]
