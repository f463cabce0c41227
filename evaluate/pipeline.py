"""One evaluation run: checkpoint + shards → results table, JSON, Markdown report and figures.

Steps, each timed (the timings go to the JSON and the report): load the checkpoint; extract
(or load cached) features of the train and eval splits; linear probes; equivariance
regressors; predictor cosine; predictor retrieval (objects); path integration (objects,
saccades); OOD splits with the heads fit on the train split (objects); figures; report. Which
tasks run depends on the setting the checkpoint was trained on.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from seqjepa.train.config import config_to_dict

from . import figures, report
from .cache import cache_key, cached
from .features import ObjectViews, SequenceFeatures, extract_object_views, extract_sequences
from .loading import EvalError, EvalModel, load_model, open_split, read_index, stored_views
from .path_integration import path_integration
from .results import Row, write_json, write_table
from .retrieval import pair_predictor_ranks, predictor_ranks, retrieval_scores
from .tasks import EvalSet, HeadSettings, classification, equivariance, prediction

QUICK_EPOCHS = 10
# Fresh sequences per head epoch keep every draw's features in memory: at most this many train
# rows (samples × draws); beyond it the heads cycle through as many draws as fit.
FRESH_ROW_BUDGET = 200_000


@dataclass
class EvalOptions:
    checkpoint: Path
    shards: Path
    train_split: str
    eval_split: str
    out: Path
    ood_shards: tuple[Path, ...] = ()
    m_vals: tuple[int, ...] | None = None  # default: 1, 3, 5, M_tr and M_tr + 2
    heads: HeadSettings = field(default_factory=HeadSettings)
    conventions: str = "canonical"
    device: str = "auto"
    workers: int = 0
    extract_batch_size: int = 64
    # Train-split sequences drawn per sample; head epoch e trains on draw e mod N. None: one
    # draw per head epoch (fresh every epoch, the paper's protocol); 1: one fixed sequence.
    sequences_per_sample: int | None = None
    eval_sequences_per_sample: int = 1  # draws per sample of the scored splits (all scored)
    cache_dir: Path | None = None  # default: OUT/cache
    mrr_max_objects: int | None = None
    quick: bool = False  # QUICK_EPOCHS for every head: smoke tests and demos only
    draw_figures: bool = True
    progress: bool = True


class Timings:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 3)


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def default_m_vals(m_tr: int, m_val: int | None = None) -> tuple[int, ...]:
    """1, 3 and 5 (Table 12's sweep), M_tr and M_tr + 2 (the paper's (3,5) and STL-10's 4 → 6),
    plus the run's own ``data.eval_seq_len`` (e.g. rotation+colour's M_tr 4 → M_val 5)."""
    return tuple(sorted({1, 3, 5, m_tr, m_tr + 2} | ({m_val} if m_val else set())))


def train_draws(requested: int | None, epochs: int, samples: int) -> int:
    """Draws per train sample: ``requested``, or one per head epoch within FRESH_ROW_BUDGET."""
    if requested is not None:
        return requested
    return max(1, min(epochs, FRESH_ROW_BUDGET // max(samples, 1)))


def sampling_policy(cfg) -> str:
    d = cfg.data
    if d.setting == "objects":
        return (
            "max(M_val)+1 distinct stored views per object, drawn without replacement from a "
            "generator seeded by (seed, draw, sample id); each M_val uses the first M_val"
        )
    if d.setting == "saccades":
        return (
            f"max(M_val)+1 fixations per image ({d.fixations}, IoR {d.ior} radius "
            f"{d.ior_radius}), {d.patch_size} px patches, seeded by (seed, draw, sample id)"
        )
    return (
        "max(M_val)+1 EquiMod-augmented views per image, parameters seeded by "
        "(seed, draw, sample id); z_res reads the unaugmented image"
    )


@dataclass
class _Ood:
    label: str
    shards: Path
    split: str
    m_vals: list[int]
    label_map: np.ndarray  # OOD label → train label (−1: class not trained on)


class Evaluation:
    def __init__(self, opts: EvalOptions) -> None:
        if opts.conventions not in ("canonical", "paper"):
            raise EvalError(f"--conventions must be canonical or paper, not {opts.conventions!r}")
        self.opts = opts
        self.device = resolve_device(opts.device)
        epochs = QUICK_EPOCHS if opts.quick else None
        h = opts.heads
        self.heads = dataclasses.replace(
            h,
            classifier_epochs=epochs or h.classifier_epochs,
            mlp_epochs=epochs or h.mlp_epochs,
            linear_epochs=epochs or h.linear_epochs,
            device=self.device,
        )
        self.timings = Timings()
        self.notes: list[str] = []
        self.cache_files: dict[str, dict] = {}
        self.cache_dir = opts.cache_dir or opts.out / "cache"

    # ------------------------------------------------------------------ inputs

    def _check_inputs(self) -> None:
        opts, cfg = self.opts, self.em.cfg
        self.setting = cfg.data.setting
        self.index = open_split(opts.shards, opts.train_split, self.setting)
        open_split(opts.shards, opts.eval_split, self.setting)
        self.stored = self._stored_views() if self.setting == "objects" else {}
        if self.em.model.sequence_model:
            self.m_vals = sorted(set(opts.m_vals or self._default_m_vals()))
            if self.m_vals[0] < 1:
                raise EvalError(f"M_val must be >= 1, got {self.m_vals[0]}")
        else:
            self.m_vals = []  # no aggregator: encoder-level heads only, as the paper reports
            if opts.m_vals:
                self.notes.append(f"{cfg.method} has no aggregator; --m-val ignored")
        # Views each sample must store: the longest sequence plus its target, or a pair.
        self.views_needed = max(self.m_vals, default=1) + 1
        for split, stored in self.stored.items():
            if self.views_needed > stored:
                raise EvalError(
                    f"evaluating needs {self.views_needed} views per object (M_val "
                    f"{self.views_needed - 1} observed + 1 target); split {split!r} of "
                    f"{opts.shards} stores {stored}"
                )
        if opts.ood_shards and self.setting != "objects":
            raise EvalError("--ood-shards applies to checkpoints trained on the objects setting")
        self.oods = [ood for d in opts.ood_shards for ood in self._ood_splits(Path(d))]

    def _stored_views(self) -> dict[str, int]:
        opts = self.opts
        return {
            split: stored_views(opts.shards, self.index, split)
            for split in (opts.train_split, opts.eval_split)
        }

    def _default_m_vals(self) -> list[int]:
        """The default sweep, less the M values the objects store too few views for."""
        cfg = self.em.cfg
        m_vals = default_m_vals(cfg.data.seq_len, cfg.data.eval_seq_len)
        if not self.stored:
            return list(m_vals)
        longest = min(self.stored.values()) - 1
        kept = [m for m in m_vals if m <= longest] or [1]
        if len(kept) < len(m_vals):
            self.notes.append(f"objects store {longest + 1} views: default M_val sweep {kept}")
        return kept

    def _ood_splits(self, directory: Path) -> list[_Ood]:
        index = read_index(directory, "objects")
        train_classes = {name: i for i, name in enumerate(self.index.class_names)}
        label_map = np.array([train_classes.get(c, -1) for c in index.class_names], np.int64)
        if (label_map < 0).any():
            self.notes.append(
                f"{directory}: {int((label_map < 0).sum())} class(es) not in the train split are "
                "left out of OOD accuracy"
            )
        out = []
        for split in index.splits:
            stored = stored_views(directory, index, split)
            m_vals = [m for m in self.m_vals if m + 1 <= stored]
            if stored < 2 or (self.m_vals and not m_vals):
                self.notes.append(f"{directory.name}/{split}: {stored} view(s) per object; skipped")
                continue
            if len(m_vals) < len(self.m_vals):
                self.notes.append(
                    f"{directory.name}/{split}: {stored} views per object, so M_val "
                    f"{', '.join(map(str, m_vals))} only"
                )
            out.append(_Ood(f"ood:{directory.name}/{split}", directory, split, m_vals, label_map))
        return out

    # ------------------------------------------------------------------ features

    def _sequences(
        self, name: str, shards: Path, split: str, m_vals: list[int], bar, train: bool = False
    ):
        opts = self.opts
        index = open_split(shards, split, self.setting)
        samples = index.splits[split].samples
        if train:
            h = self.heads
            epochs = max(h.classifier_epochs, h.mlp_epochs, h.linear_epochs)
            passes = train_draws(opts.sequences_per_sample, epochs, samples)
            self.train_draws = passes
        else:
            passes = opts.eval_sequences_per_sample
        key = cache_key(
            self.em,
            shards,
            index,
            split,
            kind="sequences",
            m_vals=m_vals,
            seed=self.heads.seed,
            passes=passes,
        )
        path = self.cache_dir / f"seq-{split}-{key[:16]}.npz"
        with self.timings.step(f"features: {name}"):
            feats, hit = cached(
                SequenceFeatures,
                path,
                lambda: extract_sequences(
                    self.em,
                    shards,
                    split,
                    m_vals,
                    seed=self.heads.seed,
                    batch_size=opts.extract_batch_size,
                    workers=opts.workers,
                    passes=passes,
                    progress=bar(f"encoding {name}", passes * samples),
                ),
            )
        self.cache_files[name] = {"path": str(path), "hit": hit}
        return feats

    def _object_views(self, bar) -> ObjectViews:
        opts = self.opts
        split = opts.eval_split
        key = cache_key(
            self.em, opts.shards, self.index, split, kind="views", max_objects=opts.mrr_max_objects
        )
        path = self.cache_dir / f"views-{split}-{key[:16]}.npz"
        total = self.index.splits[split].samples
        with self.timings.step("features: all views (retrieval)"):
            views, hit = cached(
                ObjectViews,
                path,
                lambda: extract_object_views(
                    self.em,
                    opts.shards,
                    split,
                    batch_size=opts.extract_batch_size,
                    max_objects=opts.mrr_max_objects,
                    progress=bar("encoding all views", min(total, opts.mrr_max_objects or total)),
                ),
            )
        self.cache_files["all views"] = {"path": str(path), "hit": hit}
        return views

    # ------------------------------------------------------------------ run

    def run(self) -> dict:
        opts = self.opts
        opts.out.mkdir(parents=True, exist_ok=True)
        with self.timings.step("load checkpoint"):
            self.em: EvalModel = load_model(opts.checkpoint, self.device)
        self._check_inputs()
        rows: list[Row] = []
        with _bars(opts.progress) as bar:
            train = self._sequences(
                "train", opts.shards, opts.train_split, self.m_vals, bar, train=True
            )
            evals = self._sequences("eval", opts.shards, opts.eval_split, self.m_vals, bar)
            sets = [EvalSet(opts.eval_split, evals, evals.labels)]
            for ood in self.oods:
                feats = self._sequences(ood.label, ood.shards, ood.split, ood.m_vals, bar)
                mapped = np.where(feats.labels >= 0, ood.label_map[feats.labels.clip(0)], -1)
                sets.append(EvalSet(ood.label, feats, mapped))
            model = self.em.model
            retrieval = self.setting == "objects" and (model.sequence_model or model.predicts_views)
            views = self._object_views(bar) if retrieval else None
        num_classes = len(self.index.class_names)
        with self.timings.step("classification probes"):
            if (train.labels >= 0).any():
                rows += classification(train, sets, num_classes, self.heads)
            else:
                self.notes.append(f"{opts.train_split} has no labels; no classification probes")
        with self.timings.step("equivariance regressors"):
            rows += equivariance(
                train, sets, self.setting, opts.conventions, self.heads, self.notes
            )
        rows += prediction(sets)
        if views is not None:
            with self.timings.step("predictor retrieval (MRR/Hit@k)"):
                rows += self._retrieval(views)
        if self.setting in ("objects", "saccades"):
            with self.timings.step("path integration"):
                rows += path_integration(
                    train, evals, opts.eval_split, self.setting, opts.conventions, self.heads
                )
        write_table(rows, opts.out)
        payload = self._payload(train, evals)
        if opts.draw_figures:
            with self.timings.step("figures"):
                payload["figures"] = figures.draw_all(opts.out, payload, evals)
        with self.timings.step("report"):
            report.write_report(opts.out, payload)
        payload["timings_s"] = self.timings.seconds
        write_json(payload, opts.out)
        return payload

    def _retrieval(self, views: ObjectViews) -> list[Row]:
        if self.em.model.sequence_model:
            ranks = [(m, predictor_ranks(self.em, views, m)) for m in self.m_vals]
        else:  # a two-view predictor: SIE's protocol, no M sweep
            ranks = [(None, pair_predictor_ranks(self.em, views))]
        rows = []
        for m, rank in ranks:
            if not len(rank):
                needed = 2 if m is None else m + 1
                self.notes.append(f"retrieval at M_val={m}: no object has {needed} or more views")
                continue
            for metric, value in retrieval_scores(rank).items():
                rows.append(
                    Row(
                        self.opts.eval_split,
                        "retrieval",
                        "predictor",
                        metric,
                        value,
                        m,
                        n_eval=len(rank),
                    )
                )
        return rows

    def _payload(self, train: SequenceFeatures, evals: SequenceFeatures) -> dict:
        opts, em = self.opts, self.em
        return {
            "seqjepa_version": version("seqjepa"),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "checkpoint": {
                "path": str(em.path),
                "sha256": em.sha256,
                "step": em.step,
                "method": em.cfg.method,
                "config": config_to_dict(em.cfg),
            },
            "data": {
                "shards": str(opts.shards),
                "dataset": self.index.dataset,
                "setting": self.setting,
                "class_names": list(self.index.class_names),
                "train_split": opts.train_split,
                "eval_split": opts.eval_split,
                "n_train": len(train.keys),
                "n_eval": len(evals.keys),
                "ood": [
                    {
                        "label": o.label,
                        "shards": str(o.shards),
                        "split": o.split,
                        "m_vals": o.m_vals,
                    }
                    for o in self.oods
                ],
            },
            "protocol": {
                "m_vals": self.m_vals,
                "seed": self.heads.seed,
                "sequences_per_sample": self.train_draws,
                "fresh_per_epoch": opts.sequences_per_sample is None,
                "eval_sequences_per_sample": opts.eval_sequences_per_sample,
                "sampling": sampling_policy(em.cfg),
                "conventions": opts.conventions,
                "model_mode": "eval (BatchNorm running statistics, no dropout)",
                "heads": dataclasses.asdict(self.heads),
                "quick": opts.quick,
                "mrr_max_objects": opts.mrr_max_objects,
                "device": self.device,
            },
            "cache": self.cache_files,
            "notes": self.notes,
            "timings_s": self.timings.seconds,
        }


@contextmanager
def _bars(enabled: bool):
    """``bar(description, total)`` → a callback advancing a rich progress bar (or None)."""
    if not enabled:
        yield lambda description, total: None
        return
    with Progress(transient=True) as progress:

        def bar(description: str, total: int):
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        yield bar


def evaluate(opts: EvalOptions) -> dict:
    """Run the whole evaluation; returns the results JSON payload."""
    return Evaluation(opts).run()
