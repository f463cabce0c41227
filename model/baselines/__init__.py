"""The paper's comparison methods (Tables 1–3), registered in :data:`seqjepa.model.METHODS`.

Invariant: SimCLR, BYOL, VICReg, VICReg-Traj. Equivariant: SEN, EquiMod, SIE. Hybrids built on
seq-JEPA's ideas: Conditional BYOL and Conv-JEPA. Two families (:mod:`.base`): joint-embedding
methods and bootstrap (EMA-target) methods; each method is one file.
"""

from .base import BootstrapMethod, TwoViewMethod
from .byol import BYOL
from .conditional_byol import ConditionalBYOL
from .conv_jepa import ConvJEPA
from .equimod import EquiMod
from .sen import SEN
from .sie import SIE
from .simclr import SimCLR
from .vicreg import VICReg
from .vicreg_traj import VICRegTraj

__all__ = [
    "BYOL",
    "SEN",
    "SIE",
    "BootstrapMethod",
    "ConditionalBYOL",
    "ConvJEPA",
    "EquiMod",
    "SimCLR",
    "TwoViewMethod",
    "VICReg",
    "VICRegTraj",
]
