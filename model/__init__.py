"""seq-JEPA networks: backbones, action encoder, aggregator, predictor, and the method registry.

Importing this package registers every method in :data:`METHODS`: seq-JEPA and the baselines.
"""

from .action import ActionEncoder
from .aggregator import SequenceAggregator
from .backbone import build_backbone
from .baselines import (
    BYOL,
    SEN,
    SIE,
    ConditionalBYOL,
    ConvJEPA,
    EquiMod,
    SimCLR,
    VICReg,
    VICRegTraj,
)
from .ema import ema_momentum, ema_update, make_target
from .registry import METHODS, InputSpec, Method, MethodOutput, build_method, get_method, register
from .seqjepa import SeqJEPA

__all__ = [
    "BYOL",
    "METHODS",
    "SEN",
    "SIE",
    "ActionEncoder",
    "ConditionalBYOL",
    "ConvJEPA",
    "EquiMod",
    "InputSpec",
    "Method",
    "MethodOutput",
    "SeqJEPA",
    "SequenceAggregator",
    "SimCLR",
    "VICReg",
    "VICRegTraj",
    "build_backbone",
    "build_method",
    "ema_momentum",
    "ema_update",
    "get_method",
    "make_target",
    "register",
]
