"""Rendering 3DIEBench-style splits (``seqjepa-prep render``), ID and truly out-of-distribution.

Modules: ``poses`` (latents and rotation modes, numpy/scipy only), ``sources`` (ShapeNet objects,
split files), ``objects`` (the built-in object set), ``layout`` (the output tree), ``scene`` (the
SIE scene in bpy; imported only inside render workers), ``job`` (the Ray actor pool), ``cli``.
"""

from .job import ClusterOptions, RenderError, RenderReport, RenderSettings, run_render
from .objects import write_builtin_objects
from .poses import MODES, object_latents, view_latent

__all__ = [
    "MODES",
    "ClusterOptions",
    "RenderError",
    "RenderReport",
    "RenderSettings",
    "object_latents",
    "run_render",
    "view_latent",
    "write_builtin_objects",
]
