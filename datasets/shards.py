"""Reading shards: one small tar reader for the training stream, verification, previews and tests.

Python's ``tarfile`` (which WebDataset's reader is built on) costs ~50 µs per member: it parses
every header field and reads through a 10 KB stream buffer. For small samples that was the
loader's largest cost. :func:`read_samples` memory-maps the shard and hands members of 64 KiB
or more over as views of the page cache (an object's ``views.bin`` is ~50x what its sequence
decodes: copying it cost more than parsing the whole tar). It parses only what a shard needs
(name, size, type, checksum; GNU long names and pax ``path``/``size`` records for tars written
by other tools) and groups members into samples exactly as WebDataset does (key = path up to
the first dot of the basename, lower-cased suffixes, ``__…__`` meta members skipped), so samples
are the dicts ``wds.tarfile_to_samples`` yields. Damage (bad checksum, truncation, a duplicated
member, unsupported member types) raises ``tarfile.ReadError``; the sample being read when it
happens is dropped.
"""

from __future__ import annotations

import mmap
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .schema import id_from_key

BLOCK = 512
VIEW_BYTES = 64 * 1024  # members this large are returned as views of the mapped shard
_ZERO = bytes(BLOCK)
_KEY = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")  # WebDataset's base_plus_ext
_META = re.compile(r"__[^/]*__($|/)")  # WebDataset's skip_meta
_REGULAR = (b"0", b"\0", b"7")
_NO_DATA = (b"1", b"2", b"3", b"4", b"5", b"6")  # links, devices, directories, fifos


def _number(field: bytes) -> int:
    if field[:1] in (b"\x80", b"\xff"):  # GNU base-256
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * len(field) - 8)) if field[:1] == b"\xff" else value
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise tarfile.ReadError(f"invalid number field {field!r} in a tar header") from None


def _checksum_ok(header: bytes) -> bool:
    """The header's stored checksum equals the sum of its bytes, the checksum field read as
    spaces. Adler-32's low half is (1 + Σ bytes) mod 65521, computed in C: the sums are
    compared mod 65521 (a 512-byte header sums to at most 130560)."""
    stored = _number(header[148:156])
    total = (zlib.adler32(header) & 0xFFFF) - 1 - sum(header[148:156]) + 8 * 32
    return stored < 2**17 and (stored - total) % 65521 == 0


def _pax(data: bytes) -> dict[str, str]:
    records, pos = {}, 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _members(buf) -> Iterator[tuple[str, bytes | memoryview]]:
    """(name, data) of the regular members of an uncompressed tar held in ``buf`` (an mmap)."""
    view = memoryview(buf)
    end, pos = len(buf), 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    while pos < end:
        header = buf[pos : pos + BLOCK]
        if header[:2] == b"\x1f\x8b":
            raise tarfile.ReadError("compressed shards are not supported; decompress them")
        if len(header) < BLOCK:
            raise tarfile.ReadError("truncated header")
        if header == _ZERO:
            break
        if not _checksum_ok(header):
            raise tarfile.ReadError("bad header checksum")
        kind = header[156:157]
        size = int(pax["size"]) if "size" in pax else _number(header[124:136])
        if kind in _NO_DATA:
            size = 0
        start, pos = pos + BLOCK, pos + BLOCK + size + (-size % BLOCK)
        if start + size > end:
            raise tarfile.ReadError("truncated member")
        if kind in _REGULAR:
            name = long_name or pax.get("path")
            if name is None:
                name = header[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                prefix = header[345:500].split(b"\0", 1)[0]
                if header[257:263] == b"ustar\x00" and prefix:
                    name = prefix.decode("utf-8", "surrogateescape") + "/" + name
            # Large members stay in the page cache: a view, not a copy (an object's views.bin
            # is ~50x what its sequence decodes).
            data = view[start : start + size] if size >= VIEW_BYTES else buf[start : start + size]
            yield name, data
        elif kind == b"L":
            long_name = (
                buf[start : start + size].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            )
        elif kind == b"x":
            pax = _pax(buf[start : start + size])
        elif kind not in (b"K", b"g") and kind not in _NO_DATA:
            raise tarfile.ReadError(f"unsupported tar member type {kind!r}")
        if kind not in (b"L", b"K", b"x", b"g"):
            long_name, pax = None, {}
        if pos > end:
            raise tarfile.ReadError("truncated member padding")


def _map(path: str | Path):
    """The shard's bytes, memory-mapped (closed when the last view of it is gone)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def read_samples(path: str | Path, url: str | None = None) -> Iterator[dict]:
    """Samples of one local tar shard: ``{"__key__", "__url__", suffix: data, ...}``.

    Data are ``bytes``, or read-only ``memoryview``s of the memory-mapped shard for members
    of :data:`VIEW_BYTES` or more (decoders take either; ``bytes(data)`` makes a copy).
    """
    url = str(path) if url is None else url
    current: dict | None = None
    for name, data in _members(_map(path)):
        if _META.match(name):
            continue
        match = _KEY.match(name)
        if not match:
            continue
        key, suffix = match.group(1), match.group(2).lower()
        if current is None or key != current["__key__"]:
            if current is not None:
                yield current
            current = {"__key__": key, "__url__": url}
        if suffix in current:
            raise tarfile.ReadError(f"{name}: duplicate member in {url}")
        current[suffix] = data
    if current is not None:
        yield current


def stream_samples(urls: Iterable[str], handler: Callable[[Exception], bool]) -> Iterator[dict]:
    """Samples of many shards; a damaged or missing shard goes to ``handler`` (True: go on).

    Remote URLs (``pipe:``, ``s3://``, …) are read by WebDataset's reader.
    """
    for url in urls:
        if url.startswith("pipe:") or "://" in url:
            import webdataset as wds

            yield from wds.tarfile_to_samples(handler=handler)([{"url": url}])
            continue
        try:
            yield from read_samples(url)
        except Exception as exc:  # the handler decides
            exc.args = (*exc.args, url)
            if not handler(exc):
                raise


def iter_shard(path: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield (sample id, {member: bytes}) in stored order; raises tarfile.ReadError/OSError on
    damage."""
    for sample in read_samples(path):
        sid = id_from_key(sample.pop("__key__"))
        sample.pop("__url__")
        yield sid, {name: bytes(data) for name, data in sample.items()}
