"""Builders of tiny datasets in each real raw layout (no downloads).

Each writer returns what it wrote (ids → pixels/bytes/labels) so tests can check round trips.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def pixels(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth random RGB image (compresses like a photo, unlike white noise)."""
    coarse = rng.integers(0, 256, size=(max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR))


def jpeg_bytes(img: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def write_stl10(root: Path, counts=(("train", 6), ("test", 4), ("unlabeled", 5)), seed=0) -> dict:
    rng = np.random.default_rng(seed)
    d = root / "stl10_binary"
    d.mkdir(parents=True)
    (d / "class_names.txt").write_text(
        "\n".join(
            ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
        )
    )
    out = {}
    for split, n in counts:
        imgs = np.stack([pixels(rng, 96, 96) for _ in range(n)])
        # Binary layout: per image, channel-major, each channel column-major.
        imgs.transpose(0, 3, 2, 1).astype(np.uint8).tofile(d / f"{split}_X.bin")
        labels = np.full(n, -1)
        if split != "unlabeled":
            labels = rng.integers(0, 10, size=n)
            (labels + 1).astype(np.uint8).tofile(d / f"{split}_y.bin")
        out.update({f"stl10/{split}/{i}": (imgs[i], int(labels[i])) for i in range(n)})
    return out


def write_cifar100(root: Path, counts=(("train", 6), ("test", 4)), seed=0) -> dict:
    rng = np.random.default_rng(seed)
    d = root / "cifar-100-python"
    d.mkdir(parents=True)
    meta = {
        b"fine_label_names": [f"class{i}".encode() for i in range(100)],
        b"coarse_label_names": [],
    }
    (d / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    out = {}
    for split, n in counts:
        imgs = np.stack([pixels(rng, 32, 32) for _ in range(n)])
        labels = rng.integers(0, 100, size=n).tolist()
        raw = {
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
            b"fine_labels": labels,
            b"coarse_labels": [0] * n,
            b"data": imgs.transpose(0, 3, 1, 2).reshape(n, 3072),
        }
        (d / split).write_bytes(pickle.dumps(raw, protocol=2))
        out.update({f"cifar100/{split}/{i}": (imgs[i], labels[i]) for i in range(n)})
    return out


def _save(path: Path, img: np.ndarray) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = jpeg_bytes(img) if path.suffix.lower() in (".jpg", ".jpeg") else _png(img)
    path.write_bytes(data)
    return data


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def write_imagefolder(
    root: Path, classes=("cat", "dog"), per_class=3, size=(40, 56), seed=0
) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for label, cls in enumerate(classes):
        for i in range(per_class):
            suffix = ".png" if i == 0 else ".jpg"
            data = _save(root / cls / f"{cls}_{i}{suffix}", pixels(rng, *size))
            out[f"imagefolder/train/{cls}/{cls}_{i}"] = (data, label)
    return out


def write_imagenet(
    root: Path, wnids=("n01440764", "n01443537"), per_class=2, flat_val=True, seed=0
):
    rng = np.random.default_rng(seed)
    out = {}
    for label, w in enumerate(wnids):
        for i in range(per_class):
            data = _save(root / "train" / w / f"{w}_{i}.JPEG", pixels(rng, 48, 64))
            out[f"imagenet/train/{w}/{w}_{i}"] = (data, label)
    rows = ["ImageId,PredictionString"]
    for i in range(3):
        w = wnids[i % len(wnids)]
        name = f"ILSVRC2012_val_{i + 1:08d}"
        if flat_val:
            data = _save(root / "val" / f"{name}.JPEG", pixels(rng, 64, 48))
            out[f"imagenet/val/{name}"] = (data, wnids.index(w))
            rows.append(f"{name},{w} 10 10 20 20")
        else:
            data = _save(root / "val" / w / f"{name}.JPEG", pixels(rng, 64, 48))
            out[f"imagenet/val/{w}/{name}"] = (data, wnids.index(w))
    if flat_val:
        (root / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    return out


def write_tinyimagenet(root: Path, wnids=("n0001", "n0002", "n0003"), per_class=2, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    d = root / "tiny-imagenet-200"
    d.mkdir(parents=True)
    (d / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (d / "words.txt").write_text("\n".join(f"{w}\tthing {w}, other" for w in wnids) + "\n")
    out = {}
    for label, w in enumerate(wnids):
        for i in range(per_class):
            data = _save(d / "train" / w / "images" / f"{w}_{i}.JPEG", pixels(rng, 64, 64))
            out[f"tinyimagenet/train/{w}/images/{w}_{i}"] = (data, label)
    lines = []
    for i, w in enumerate(reversed(wnids)):
        data = _save(d / "val" / "images" / f"val_{i}.JPEG", pixels(rng, 64, 64))
        lines.append(f"val_{i}.JPEG\t{w}\t0\t0\t63\t63")
        out[f"tinyimagenet/val/images/val_{i}"] = (data, wnids.index(w))
    (d / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    data = _save(d / "test" / "images" / "test_0.JPEG", pixels(rng, 64, 64))
    out["tinyimagenet/test/images/test_0"] = (data, -1)
    return out


def write_3diebench(
    root: Path, synsets=("02691156", "02958343"), objects=2, views=(0, 1, 2, 3), size=64, seed=0
) -> dict:
    """3DIEBench tree with split files; view ids may be any subset (e.g. 2..5 for OOD)."""
    rng = np.random.default_rng(seed)
    out, train, val = {}, [], []
    for label, s in enumerate(synsets):
        for o in range(objects):
            obj = f"obj{o:03d}{s[-2:]}"
            folder = root / s / obj
            folder.mkdir(parents=True)
            imgs, latents = [], []
            for k in views:
                data = jpeg_bytes(pixels(rng, size, size), 95)
                (folder / f"image_{k}.jpg").write_bytes(data)
                latent = np.concatenate(
                    [
                        rng.uniform(-np.pi / 2, np.pi / 2, 3),
                        [
                            rng.uniform(),
                            rng.uniform(0, np.pi / 4),
                            rng.uniform(0, 2 * np.pi),
                            rng.uniform(),
                        ],
                    ]
                )
                np.save(folder / f"latent_{k}.npy", latent)
                imgs.append(data)
                latents.append(latent)
            (val if o == 0 else train).append((f"/{s}/{obj}/", label))
            out[f"{s}/{obj}"] = (imgs, np.stack(latents), list(views), label)
    for name, rows in (("train", train), ("val", val)):
        np.save(root / f"{name}_images.npy", np.array([r[0] for r in rows]))
        np.save(root / f"{name}_labels.npy", np.array([r[1] for r in rows], dtype=np.int64))
    return out


def write_webdataset(root: Path, n=5, seed=0) -> dict:
    """Plain WebDataset image shards written with webdataset's own TarWriter."""
    import webdataset as wds

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    with wds.TarWriter(str(root / "part-000000.tar")) as sink:
        for i in range(n):
            data = jpeg_bytes(pixels(rng, 40, 40))
            key = f"sample{i:04d}"
            sink.write({"__key__": key, "jpg": data, "cls": str(i % 3).encode(), "json": b"{}"})
            out[f"webdataset/train/{key}"] = (data, i % 3)
    return out


def write_random_saliency(root: Path, dataset: str, ids: list[str], size=96, chunk=1000, seed=0):
    """A saliency store of random log-densities (logsumexp 0) for ``ids``, split 'train'."""
    from seqjepa.preprocess.saliency_store import SaliencyStoreWriter

    writer = SaliencyStoreWriter(root, dataset, (size, size), {"model": "random-test-maps"})
    rng = np.random.default_rng(seed)
    for index, start in enumerate(range(0, len(ids), chunk)):
        part = ids[start : start + chunk]
        logits = rng.normal(0, 2, (len(part), size, size)).astype(np.float32)
        logd = logits - np.log(np.exp(logits).sum(axis=(1, 2), keepdims=True))
        writer.write_chunk("train", index, part, logd)
