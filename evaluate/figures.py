"""Figures a researcher looks at first (PNG, drawn with matplotlib's object API: no display).

* 2-D projections of encoder and aggregate representations, coloured by class and by the
  transformation (paper Figures 5, 12-14): UMAP when ``umap-learn`` is installed, otherwise
  t-SNE (50 points or more) or PCA from scikit-learn; the title names the method used;
* nearest-neighbour retrieval grids of encoder representations (paper Figure 4);
* saccade sequences drawn on the image over its saliency map;
* top-1 accuracy against M_val, and path-integration R² against M with its ablations
  (paper Figures 6 and 7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from .features import SequenceFeatures
from .metrics import quaternion_angle_error
from .path_integration import VARIANTS
from .results import read_table
from .retrieval import nearest_neighbours
from .targets import absolute_rotation

MAX_POINTS = 2000
TSNE_MIN_POINTS = 50
R2_FLOOR = -1.0
FIGURES = "figures"


def project_2d(x: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows of ``x`` and the name of the method that made them."""
    x = np.asarray(x, dtype=np.float64)
    try:
        import umap  # optional dependency

        return umap.UMAP(random_state=seed).fit_transform(x), "UMAP"
    except ImportError:
        pass
    if len(x) >= TSNE_MIN_POINTS:
        perplexity = min(30.0, (len(x) - 1) / 3)
        tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(x), "t-SNE"
    coords = PCA(min(2, *x.shape)).fit_transform(x)
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords, "PCA"


def transformation_colours(setting: str, params: np.ndarray) -> dict[str, np.ndarray]:
    """What to colour encoder outputs by: the transformation of the encoded view."""
    if setting == "objects":
        q = absolute_rotation(params[:, 0], "canonical")
        identity = np.tile([0.0, 0.0, 0.0, 1.0], (len(q), 1))
        return {"rotation angle (deg)": quaternion_angle_error(identity, q)}
    if setting == "saccades":
        return {"fixation x": params[:, 0, 1], "fixation y": params[:, 0, 0]}
    return {"crop area (fraction)": params[:, 0, 2] * params[:, 0, 3]}


def _class_scatter(ax, xy, labels, class_names) -> None:
    cmap = colormaps["tab10" if len(class_names) <= 10 else "tab20"]
    for c in np.unique(labels):
        pick = labels == c
        name = class_names[c] if 0 <= c < len(class_names) else "unlabelled"
        ax.scatter(*xy[pick].T, s=6, color=cmap(int(c) % cmap.N), label=name)
    if len(class_names) <= 10:
        ax.legend(fontsize=6, markerscale=2, loc="best")


def embeddings(feats: SequenceFeatures, setting: str, class_names, path: Path, seed=0) -> Path:
    n = min(len(feats.keys), MAX_POINTS)
    labels = feats.labels[:n]
    enc, method = project_2d(feats.z_pair[:n, 0], seed)
    colours = transformation_colours(setting, feats.params[:n])
    with_agg = len(feats.m_vals) > 0  # baselines have no aggregate representation
    panels = 1 + len(colours) + with_agg
    fig = Figure(figsize=(4.2 * panels, 4.2))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    _class_scatter(axes[0], enc, labels, class_names)
    axes[0].set_title("encoder z, by class")
    for ax, (name, values) in zip(axes[1:], colours.items(), strict=False):
        sc = ax.scatter(*enc.T, s=6, c=values, cmap="viridis")
        fig.colorbar(sc, ax=ax, fraction=0.046)
        ax.set_title(f"encoder z, by {name}")
    if with_agg:
        agg, _ = project_2d(feats.agg[:n, -1], seed)
        _class_scatter(axes[-1], agg, labels, class_names)
        axes[-1].set_title(f"aggregate z_AGG (M_val={int(feats.m_vals[-1])}), by class")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{method} of {n} eval sequences (view 1 for z)")
    return _save(fig, path)


def retrieval_grid(feats: SequenceFeatures, class_names, path: Path, queries=6, k=3) -> Path:
    """Queries (left column) and their k nearest encoder representations among the views whose
    thumbnails were kept, the query itself excluded."""
    pool = len(feats.thumbs)
    chosen = np.unique(np.linspace(0, pool - 1, min(queries, pool)).astype(int))
    neighbours = nearest_neighbours(feats.z_pair[:pool, 0], chosen, min(k, pool - 1))
    cols = 1 + neighbours.shape[1]
    fig = Figure(figsize=(1.8 * cols, 1.9 * len(chosen)))
    axes = fig.subplots(len(chosen), cols, squeeze=False)
    for r, (q, row) in enumerate(zip(chosen, neighbours, strict=True)):
        for c, i in enumerate([q, *row]):
            ax = axes[r, c]
            ax.imshow(feats.thumbs[i].transpose(1, 2, 0))
            label = feats.labels[i]
            name = class_names[label] if 0 <= label < len(class_names) else "?"
            ax.set_title(("query: " if c == 0 else f"#{c}: ") + str(name), fontsize=7)
            ax.axis("off")
    fig.suptitle(f"nearest encoder representations (cosine) among {pool} eval views")
    return _save(fig, path)


def saccade_sequences(feats: SequenceFeatures, patch: int, path: Path) -> Path:
    """Fixations (numbered, with their patch outlines) on the image, saliency overlaid."""
    n = len(feats.images)
    fig = Figure(figsize=(3.2 * n, 3.4))
    axes = fig.subplots(1, n, squeeze=False)
    for i, ax in enumerate(axes[0]):
        image = feats.images[i].transpose(1, 2, 0)
        h, w = image.shape[:2]
        ax.imshow(image)
        if len(feats.saliency):
            density = np.exp(feats.saliency[i] - feats.saliency[i].max())
            ax.imshow(density, cmap="inferno", alpha=0.45, extent=(-0.5, w - 0.5, h - 0.5, -0.5))
        rows, cols = feats.params[i, :, 0] * h, feats.params[i, :, 1] * w
        ax.plot(cols, rows, "-", color="cyan", lw=1)
        for t, (r, c) in enumerate(zip(rows, cols, strict=True)):
            ax.add_patch(
                Rectangle(
                    (c - patch / 2 - 0.5, r - patch / 2 - 0.5),
                    patch,
                    patch,
                    fill=False,
                    color="cyan",
                    lw=0.8,
                )
            )
            ax.text(
                c,
                r,
                str(t + 1),
                color="white",
                fontsize=8,
                ha="center",
                va="center",
                bbox={"boxstyle": "circle,pad=0.15", "fc": "black", "alpha": 0.6},
            )
        ax.set_title(f"{feats.keys[i].rsplit('/', 1)[-1]}", fontsize=8)
        ax.axis("off")
    fig.suptitle("saccade sequences (1 = first fixation; last = the predicted patch)")
    return _save(fig, path)


def accuracy_vs_m(table, path: Path) -> Path | None:
    cls = table[table.task == "classification"]
    if cls.empty:
        return None
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    for i, (split, group) in enumerate(cls.groupby("split", sort=False)):
        colour = f"C{i}"
        agg = group[group.representation == "z_agg"].sort_values("m_val")
        ax.plot(agg.m_val, agg.value, "o-", color=colour, label=f"{split}: z_AGG")
        res = group[group.representation == "z_res"]
        if not res.empty:
            ax.axhline(res.value.iloc[0], color=colour, ls="--", lw=1, label=f"{split}: z_res")
    ax.set_xlabel("M_val (observed views at inference)")
    ax.set_ylabel("linear probe top-1 (%)")
    ax.set_xticks(sorted(cls.m_val.dropna().unique()))
    ax.legend(fontsize=7)
    ax.set_title("classification vs inference sequence length")
    return _save(fig, path)


def path_integration_curves(table, path: Path) -> Path | None:
    pi = table[(table.task == "path_integration") & (table.metric == "r2_sklearn")]
    if pi.empty:
        return None
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    for variant in VARIANTS:
        curve = pi[pi.variant == variant].sort_values("m_val")
        ax.plot(curve.m_val, curve.value, "o-", label=variant)
    ax.set_xlabel("M (actions integrated)")
    ax.set_ylabel("R² (sklearn, per-output mean)")
    ax.set_xticks(sorted(pi.m_val.dropna().unique()))
    ax.legend(fontsize=7)
    title = "path integration (heads trained on intact inputs)"
    if pi.value.min() < R2_FLOOR:  # a failed ablation would flatten every other curve
        ax.set_ylim(R2_FLOOR - 0.05, 1.05)
        title += f"\naxis clipped at R² = {R2_FLOOR:g}"
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def draw_all(out: Path, payload: dict, evals: SequenceFeatures) -> list[str]:
    """Every figure that applies to this run, under ``out/figures``; returns relative paths."""
    directory = out / FIGURES
    setting = payload["data"]["setting"]
    names = payload["data"]["class_names"]
    seed = payload["protocol"]["seed"]
    table = read_table(out)
    made = [
        embeddings(evals, setting, names, directory / "embeddings.png", seed),
        retrieval_grid(evals, names, directory / "retrieval_grid.png"),
        accuracy_vs_m(table, directory / "accuracy_vs_m.png"),
        path_integration_curves(table, directory / "path_integration.png"),
    ]
    if setting == "saccades" and len(evals.images):
        patch = payload["checkpoint"]["config"]["data"]["patch_size"]
        made.append(saccade_sequences(evals, patch, directory / "saccades.png"))
    return [str(p.relative_to(out)) for p in made if p is not None]
