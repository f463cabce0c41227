"""Typed run configuration: dataclasses loaded from YAML, dotted CLI overrides, strict validation.

Every error names the offending key and the file it came from, and says what would be accepted:
an unknown key (with the closest known one), a wrong type, or an impossible value (raised by a
dataclass ``__post_init__``). The resolved config is written next to each run's outputs.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from seqjepa.model import get_method


class ConfigError(ValueError):
    """A configuration problem, with a message fit to print as a one-line CLI error."""


@dataclass
class DataConfig:
    setting: Literal["objects", "augment", "saccades", "synthetic"] = "objects"
    shards: str | None = None  # directory written by `seqjepa-prep shard`
    split: str = "train"
    # objects: rot | rotcolor | color | all; augment: all | crop | jitter | blur | a+b
    action: str = "rot"
    conventions: Literal["canonical", "paper"] = "canonical"
    paper_norm: bool = False  # augment: the authors' across-view L2 normalisation of parameters
    image_size: int = 128  # views (objects, augment) or full images (saccades: 0 keeps stored)
    seq_len: int = 3  # M_tr: observed views per training sequence
    eval_seq_len: int | None = None  # M_val the paper reports; seqjepa-eval adds it to its sweep
    batch_size: int = 512
    workers: int = 4
    shuffle_buffer: int = 2000
    on_device: bool | None = None  # fixations/augmentations on the training device (auto: CUDA)
    patch_size: int = 32  # saccades: foveal patch side
    fixations: Literal["saliency", "uniform"] = "saliency"
    ior: Literal["disk", "box", "none"] = "disk"
    ior_radius: float = 16.0
    synthetic_samples: int = 512  # size of the built-in synthetic set (setting "synthetic")

    def __post_init__(self) -> None:
        if self.seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {self.seq_len}")
        if self.eval_seq_len is not None and self.eval_seq_len < 1:
            raise ValueError(f"eval_seq_len must be >= 1, got {self.eval_seq_len}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (BatchNorm), got {self.batch_size}")
        if self.image_size < 0 or 0 < self.image_size < 8:
            raise ValueError(f"image_size must be >= 8 (or 0 for saccades), got {self.image_size}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.patch_size < 4 or self.ior_radius < 0:
            raise ValueError("patch_size must be >= 4 and ior_radius >= 0")


@dataclass
class OptimConfig:
    optimizer: Literal["adamw", "adam"] = "adamw"
    lr: float = 4e-4
    weight_decay: float = 1e-3
    start_lr: float = 1e-5  # linear warm-up starts here
    final_lr: float = 1e-5  # cosine decay ends here
    warmup_epochs: float = 20
    epochs: int = 1000
    iters_per_epoch: int | None = None  # fixed so streaming epochs and resume share one schedule
    ema_base: float = 0.996

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.start_lr < 0 or self.final_lr < 0:
            raise ValueError("learning rates must be positive")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(f"warmup_epochs must be in [0, epochs], got {self.warmup_epochs}")
        if self.iters_per_epoch is not None and self.iters_per_epoch < 1:
            raise ValueError(f"iters_per_epoch must be >= 1, got {self.iters_per_epoch}")
        if not 0.0 <= self.ema_base <= 1.0:
            raise ValueError(f"ema_base must be in [0, 1], got {self.ema_base}")


@dataclass
class RunConfig:
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast on CUDA
    compile: bool = False
    log_every: int = 10
    checkpoint_every: int = 100  # epochs; latest.pt is also rewritten every epoch
    sync_bn: bool = False  # SyncBatchNorm across ranks (DDP)
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.log_every < 1 or self.checkpoint_every < 1:
            raise ValueError("log_every and checkpoint_every must be >= 1")


@dataclass
class Config:
    method: str = "seqjepa"
    model: Any = None  # the registered method's own Config dataclass, typed at load time
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    method: str | None = None,
) -> Config:
    """Read ``path`` (YAML), switch to ``method`` if given (see :func:`switch_method`), apply
    ``key.sub=value`` overrides, validate into a :class:`Config`."""
    source = str(path) if path else "defaults"
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"config file {p} does not exist; pass a YAML file such as configs/*.yaml"
            )
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{p} must hold a mapping of sections at the top level")
    if method is not None:
        switch_method(raw, method, source)
    for item in overrides:
        apply_override(raw, item)
    return config_from_dict(raw, source)


def switch_method(raw: dict[str, Any], method: str, source: str) -> None:
    """Train ``method`` on a preset's data: drop the preset's model section (another method's
    settings) when the method changes, apply the optimiser the paper used for ``method``, and
    read the number of views the method uses (two-view baselines: M = 1)."""
    try:
        cls = get_method(method)
    except ValueError as exc:
        raise ConfigError(f"--method: {exc}") from None
    if raw.get("method", Config.method) != method:
        raw.pop("model", None)
    raw["method"] = method
    raw.setdefault("optim", {}).update(cls.paper_optim)
    if cls.num_views is not None:
        data = raw.setdefault("data", {})
        data["seq_len"] = cls.num_views - 1
        data["eval_seq_len"] = None


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in the nested dict; the value is parsed as a YAML scalar."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} must look like section.key=value")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def config_from_dict(raw: dict[str, Any], source: str = "config") -> Config:
    raw = dict(raw)
    method = raw.get("method", Config.method)
    try:
        method_cls = get_method(method)
    except ValueError as exc:
        raise ConfigError(f"{source}: method: {exc}") from None
    model_raw = raw.pop("model", None) or {}
    cfg = from_dict(Config, raw, source, "")
    cfg.model = from_dict(method_cls.Config, model_raw, source, "model")
    check_method_data(method_cls, cfg.data, source)
    return cfg


def check_method_data(method_cls: type, data: DataConfig, source: str) -> None:
    """The data must be what the method reads: its setting, and its fixed number of views."""
    name = method_cls.name
    if method_cls.settings is not None and data.setting not in method_cls.settings:
        raise ConfigError(
            f"{source}: method {name!r} works with the {' or '.join(method_cls.settings)} "
            f"setting, not {data.setting!r}"
        )
    views = method_cls.num_views
    if views is not None and data.seq_len + 1 != views:
        raise ConfigError(
            f"{source}: method {name!r} reads {views} views per sample, so data.seq_len must be "
            f"{views - 1} (got {data.seq_len}); `seqjepa-train --method {name}` sets it"
        )


def from_dict(cls: type, data: Any, source: str, prefix: str) -> Any:
    """Build dataclass ``cls`` from ``data`` checking keys and types recursively."""
    where = prefix or "top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {where} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {_join(prefix, close[0])!r}?)" if close else ""
            raise ConfigError(
                f"{source}: unknown key {_join(prefix, key)!r}{hint}; "
                f"known keys: {', '.join(fields)}"
            )
    values = {}
    for key, value in data.items():
        values[key] = _check(hints[key], value, source, _join(prefix, key))
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{source}: {where}: {exc}") from None


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _check(tp: Any, value: Any, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source, key)
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check(option, value, source, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(
                f"{source}: {key} must be one of {', '.join(map(str, choices))}; got {value!r}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        items = [_check(item_tp, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return origin(items)
    if tp is float and isinstance(value, str):
        value = _number(value, source, key)  # YAML 1.1 reads "1e-3" as a string
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp)
    if ok is None:
        raise ConfigError(f"{source}: {key} has an unsupported type {tp!r}")
    if not ok:
        raise ConfigError(
            f"{source}: {key} must be {tp.__name__}, got {type(value).__name__} {value!r}"
        )
    return float(value) if tp is float else value


def _number(text: str, source: str, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{source}: {key} must be float, got str {text!r}") from None


def config_to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, run_dir: str | Path) -> Path:
    """Write the resolved config as ``config.yaml`` in ``run_dir`` (atomically)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "config.yaml"
    tmp = out.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    tmp.replace(out)
    return out
