"""The 3DIEBench (SIE) scene in plain ``bpy``: Blender 4.2 LTS as a Python module, Cycles.

BlenderProc cannot run offline, so its defaults are reproduced by hand (see the reference notes):
floor plane of size 10 000 at z = −1 with a node-less material (Cycles shades its
``diffuse_color``, HSV(h, 0.6, 0.6)); sun of 1.5 W/m², angle π/2, pointing straight down; a 500 W
spot, cone π/8, on a sphere of radius 4 at (θ, φ), aimed at the origin, colour HSV(h, 1, 0.8);
camera at (0, 1.768, 1.768) (r 2.5, polar π/4, azimuth π/2) looking at the origin, FOV 0.691 rad,
clip 0.1–1000; world grey 0.05; Cycles with adaptive sampling (threshold 0.01), bounces diffuse
3 / glossy 0 / transmission 0 / transparency 8 / max 3, the "Filmic" view transform (4.x
defaults to AgX, so it is set explicitly) and Cycles' built-in OpenImageDenoise (BlenderProc
applies the same denoiser through the compositor, with the same albedo + normal guides).

The object: ``wm.obj_import`` (MTL materials and textures included) gives it rotation (π/2, 0, 0),
the Y-up → Z-up step of ShapeNet. That rotation is baked into the mesh, the mesh is moved so the
bounding-box centre is at the origin, and the object sits at the origin with
``rotation_mode='XYZ'``; each view then sets ``rotation_euler`` to latent[0:3], so the object's
world matrix is exactly ``Rotation.from_euler("xyz", latent[:3])``.

``bpy`` is a process-global singleton: import this module's ``Scene`` only in a process that will
not fork afterwards (one per Ray actor), and never share it across threads.
"""

from __future__ import annotations

import colorsys
import contextlib
import math
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .poses import THREEDIEBENCH_FOV

CAMERA_LOCATION = (
    2.5 * math.sin(math.pi / 4) * math.cos(math.pi / 2),
    2.5 * math.sin(math.pi / 4) * math.sin(math.pi / 2),
    2.5 * math.cos(math.pi / 4),
)
SPOT_RADIUS = 4.0
SCENE_CONSTANTS = {
    "floor": {"size": 10000, "z": -1.0, "hsv": "(h, 0.6, 0.6)", "material": "node-less diffuse"},
    "sun": {"energy": 1.5, "angle": math.pi / 2},
    "spot": {"energy": 500.0, "spot_size": math.pi / 8, "radius": SPOT_RADIUS, "hsv": "(h,1,0.8)"},
    "camera": {"location": CAMERA_LOCATION, "fov": THREEDIEBENCH_FOV, "clip": (0.1, 1000.0)},
    "world_grey": 0.05,
    "adaptive_threshold": 0.01,
    "bounces": {"diffuse": 3, "glossy": 0, "transmission": 0, "transparent": 8, "max": 3},
    "view_transform": "Filmic",
}


@contextlib.contextmanager
def _quiet(enabled: bool = True):
    """Send fds 1 and 2 to /dev/null: Blender prints per-frame chatter that Ray would forward.

    Python exceptions still propagate; only Blender's own printing is lost.
    """
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def bpy_version() -> str:
    import bpy

    return bpy.app.version_string


class Scene:
    """One reusable SIE scene; load an object, render views, unload, load the next."""

    def __init__(
        self,
        size: int = 256,
        samples: int = 32,
        denoise: bool = True,
        threads: int = 1,
        device: str = "CPU",
        quiet: bool = True,
        fov: float = THREEDIEBENCH_FOV,
    ) -> None:
        with _quiet(quiet):
            import bpy

            bpy.ops.wm.read_factory_settings(use_empty=True)
        self._bpy = bpy
        self._quiet = quiet
        scene = bpy.context.scene
        self.scene = scene
        self.obj = None
        self._configure(size, samples, denoise, threads, device)
        self._build(fov)

    # -- setup -------------------------------------------------------------------------------
    def _configure(self, size: int, samples: int, denoise: bool, threads: int, device: str) -> None:
        scene = self.scene
        r = scene.render
        r.engine = "CYCLES"
        r.resolution_x = r.resolution_y = size
        r.resolution_percentage = 100
        r.film_transparent = False
        r.threads_mode = "FIXED"
        r.threads = max(1, int(threads))
        r.use_persistent_data = True
        r.image_settings.file_format = "BMP"  # scratch file: 8-bit, view transform applied
        r.image_settings.color_mode = "RGB"
        c = scene.cycles
        c.device = self._select_device(device)
        c.use_adaptive_sampling = True
        c.adaptive_threshold = SCENE_CONSTANTS["adaptive_threshold"]
        self.set_quality(samples, denoise)
        c.diffuse_bounces = 3
        c.glossy_bounces = 0
        c.transmission_bounces = 0
        c.transparent_max_bounces = 8
        c.max_bounces = 3
        c.seed = 0
        scene.view_settings.view_transform = "Filmic"
        scene.view_settings.look = "None"
        scene.view_settings.exposure = 0.0
        scene.view_settings.gamma = 1.0
        scene.display_settings.display_device = "sRGB"

    def set_quality(self, samples: int, denoise: bool) -> None:
        """Samples per pixel (adaptive, threshold 0.01) and OpenImageDenoise on/off."""
        c = self.scene.cycles
        c.samples = int(samples)
        c.use_denoising = bool(denoise)
        if denoise:
            c.denoiser = "OPENIMAGEDENOISE"
            c.denoising_input_passes = "RGB_ALBEDO_NORMAL"

    def _select_device(self, device: str) -> str:
        if device.upper() != "GPU":
            return "CPU"
        prefs = self._bpy.context.preferences.addons["cycles"].preferences
        for backend in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
            try:
                prefs.compute_device_type = backend
            except TypeError:
                continue
            prefs.get_devices()
            gpus = [d for d in prefs.devices if d.type == backend]
            if gpus:
                for d in prefs.devices:
                    d.use = d.type == backend
                return "GPU"
        raise RuntimeError("no GPU usable by Cycles (OptiX/CUDA/HIP/oneAPI/Metal) was found")

    def _build(self, fov: float) -> None:
        bpy = self._bpy
        scene = self.scene
        world = bpy.data.worlds.new("world")
        world.use_nodes = True
        bg = world.node_tree.nodes["Background"]
        grey = SCENE_CONSTANTS["world_grey"]
        bg.inputs["Color"].default_value = (grey, grey, grey, 1.0)
        bg.inputs["Strength"].default_value = 1.0
        scene.world = world

        half = SCENE_CONSTANTS["floor"]["size"] / 2
        z = SCENE_CONSTANTS["floor"]["z"]
        mesh = bpy.data.meshes.new("floor")
        corners = [(-half, -half, z), (half, -half, z), (half, half, z), (-half, half, z)]
        mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
        self.floor_material = bpy.data.materials.new("floor")
        self.floor_material.use_nodes = False
        mesh.materials.append(self.floor_material)
        self._link(bpy.data.objects.new("floor", mesh))

        sun = bpy.data.lights.new("sun", "SUN")
        sun.energy = SCENE_CONSTANTS["sun"]["energy"]
        sun.angle = SCENE_CONSTANTS["sun"]["angle"]
        self._link(bpy.data.objects.new("sun", sun))  # default orientation: pointing down

        spot = bpy.data.lights.new("spot", "SPOT")
        spot.energy = SCENE_CONSTANTS["spot"]["energy"]
        spot.spot_size = SCENE_CONSTANTS["spot"]["spot_size"]
        self.spot = bpy.data.objects.new("spot", spot)
        self._link(self.spot)

        cam = bpy.data.cameras.new("camera")
        cam.lens_unit = "FOV"
        cam.angle = fov
        cam.clip_start, cam.clip_end = SCENE_CONSTANTS["camera"]["clip"]
        camera = bpy.data.objects.new("camera", cam)
        self._link(camera)
        self._aim(camera, CAMERA_LOCATION)
        scene.camera = camera

    def _link(self, obj) -> None:
        self.scene.collection.objects.link(obj)

    def _aim(self, obj, location) -> None:
        """Put ``obj`` at ``location`` facing the origin (−Z forward, Y up, as BlenderProc)."""
        from mathutils import Vector

        obj.location = location
        obj.rotation_mode = "XYZ"
        obj.rotation_euler = (-Vector(location)).to_track_quat("-Z", "Y").to_euler()

    # -- objects -----------------------------------------------------------------------------
    def load(self, model: Path) -> None:
        """Import an OBJ (+MTL, textures), bake the Y-up fix, centre its bounding box at 0."""
        bpy = self._bpy
        from mathutils import Matrix

        self.unload()
        before = set(bpy.data.objects)
        with _quiet(self._quiet):
            bpy.ops.wm.obj_import(  # validation: a broken mesh must not crash Blender
                filepath=str(model),
                use_split_objects=False,
                use_split_groups=False,
                validate_meshes=True,
            )
        new = [o for o in bpy.data.objects if o not in before]
        meshes = [o for o in new if o.type == "MESH"]
        for o in new:
            if o.type != "MESH":
                bpy.data.objects.remove(o, do_unlink=True)
        if len(meshes) != 1 or len(meshes[0].data.vertices) == 0:
            for o in meshes:
                bpy.data.objects.remove(o, do_unlink=True)
            self._purge()
            raise ValueError(f"{model}: import gave {len(meshes)} mesh object(s), expected 1")
        obj = meshes[0]
        obj.data.transform(obj.matrix_basis)  # bake the importer's (π/2, 0, 0) and scale
        obj.matrix_basis = Matrix.Identity(4)
        co = np.empty(len(obj.data.vertices) * 3)
        obj.data.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3)
        centre = (co.min(0) + co.max(0)) / 2
        obj.data.transform(Matrix.Translation(-centre))
        obj.data.update()
        obj.location = (0.0, 0.0, 0.0)
        obj.rotation_mode = "XYZ"
        self.obj = obj

    def unload(self) -> None:
        if self.obj is not None:
            self._bpy.data.objects.remove(self.obj, do_unlink=True)
            self.obj = None
        self._purge()

    def _purge(self) -> None:
        """Free the meshes, materials and images nothing uses any more (keeps memory flat)."""
        data = self._bpy.data
        for _ in range(2):  # materials free images, so twice
            for coll in (data.meshes, data.materials, data.images, data.textures):
                for block in list(coll):
                    if block.users or block == self.floor_material:
                        continue
                    if getattr(block, "type", "") != "RENDER_RESULT":
                        coll.remove(block)

    # -- views -------------------------------------------------------------------------------
    def pose(self, latent: np.ndarray) -> None:
        """Set the object pose and the floor/spot parameters of one 7-value latent."""
        latent = np.asarray(latent, dtype=np.float64)
        if self.obj is not None:
            self.obj.rotation_euler = tuple(float(a) for a in latent[:3])
        floor = colorsys.hsv_to_rgb(float(latent[3]) % 1.0, 0.6, 0.6)
        self.floor_material.diffuse_color = (*floor, 1.0)
        theta, phi = float(latent[4]), float(latent[5])
        location = (
            SPOT_RADIUS * math.sin(theta) * math.cos(phi),
            SPOT_RADIUS * math.sin(theta) * math.sin(phi),
            SPOT_RADIUS * math.cos(theta),
        )
        self._aim(self.spot, location)
        self.spot.data.color = colorsys.hsv_to_rgb(float(latent[6]) % 1.0, 1.0, 0.8)

    def render(self, latent: np.ndarray) -> np.ndarray:
        """Render one view; returns the image as RGB uint8 (H, W, 3)."""
        self.pose(latent)
        # a scratch file per frame: nothing is left behind even when the actor is killed
        with tempfile.TemporaryDirectory(prefix="seqjepa-render-") as tmp:
            frame = Path(tmp) / "frame.bmp"
            self.scene.render.filepath = str(frame)
            with _quiet(self._quiet):
                self._bpy.ops.render.render(write_still=True)
            bgr = cv2.imread(str(frame), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RuntimeError("Cycles wrote no image")
        return np.ascontiguousarray(bgr[..., ::-1])

    def object_matrix_world(self) -> np.ndarray:
        """The posed object's 4×4 world matrix (after ``pose``)."""
        self._bpy.context.view_layer.update()
        return np.array(self.obj.matrix_world)

    def object_world_vertices(self) -> np.ndarray:
        """World coordinates of the posed object's vertices, (n, 3)."""
        co = np.empty(len(self.obj.data.vertices) * 3)
        self.obj.data.vertices.foreach_get("co", co)
        m = self.object_matrix_world()
        return co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]

    def close(self) -> None:
        self.unload()
