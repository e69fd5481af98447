"""The saved dedup index: segments of samples, one per save, and a manifest naming them.

A segment is an `.npz` of one save's new samples (ids, exact digests, signatures, shingle
hashes); the manifest names the sketch parameters and the segments, each with its SHA-256, and
a segment that does not match its entry is damaged. Where they live is a `SegmentStore`: a
folder here (`SegmentFolder`), or tables in a PostgreSQL ledger database (`tables`); both keep
the same segment bytes and both merge the segments into one past `COMPACT_AT`.

The folder (by default `<home>/dedup/`) holds `manifest.json` and the segment files. A save
writes a new segment and then a new manifest, each to a temporary file that is synced and
renamed, under a file lock, so a crash leaves the previous index intact and concurrent saves do
not lose each other's segments. A segment that does not match its manifest entry, or a manifest
that is not one, is an InputError that says the index is damaged; so is either when it is no
regular file there (a link is not followed) or larger than any save writes.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import socket
import stat
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from synthguard.guards.dedup.minhash import Signatures
from synthguard.guards.dedup.shingles import KINDS, ShingleBatch
from synthguard.ledger.log import WAIT_NOTE_AFTER
from synthguard.provenance.canonical import DIGEST_PREFIX
from synthguard.provenance.errors import InputError
from synthguard.provenance.named_file import read_home_file

INDEX_FORMAT = "synthguard-dedup-index/1"
MANIFEST = "manifest.json"
_LOCK = "lock"
_SEGMENT_NAME = re.compile(r"segment-\d{6,}\.npz")
_SEGMENT_ARRAYS = ("ids", "exact", "doc", "kind", "signatures", "offsets", "shingles")

COMPACT_AT = 16
"""Segments beyond which a save merges them all into one."""

MANIFEST_MAX_BYTES = 1 << 20
"""A manifest lists at most COMPACT_AT + 1 segments and a head: a few KB."""

SEGMENT_MAX_BYTES = 64 << 30
"""A segment holds about 0.6 KB per sample and 8 bytes per word (a signature per sketch, a hash
per word 3-gram), and a screen loads the whole index into memory: 64 GiB is some 20 million
samples of 300 words."""

Arrays = dict[str, np.ndarray]
"""One segment: ids and exact keys (docs, 32) uint8; per sketch its doc (numbered within the
segment), kind, signature and shingle hashes (`offsets` into `shingles`)."""

Part = tuple[list[str], list[bytes], Arrays]
"""A segment as read back: its sample ids, exact keys and arrays."""


Loaded = tuple[dict[str, Any] | None, list[Part], list[dict[str, Any]], bytes | None]
"""What a store holds: the sketch parameters (None: no index yet), the segments, each
segment's entry (`ENTRY_KEYS`) in order, and the signed head (None: none)."""

HeadMaker = Callable[[Mapping[str, Any], list[dict[str, Any]], bytes | None], bytes]
"""Signs the head of an index with these parameters and segment entries, given the head it
replaces (as stored when the save began): its envelope."""

ENTRY_KEYS = ("docs", "sketches", "sha256")
"""A segment's entry: its sample and sketch counts and the SHA-256 of its bytes."""


class SegmentStore(Protocol):
    """Where a saved index lives. `where` names it in messages (" at PATH")."""

    where: str

    def load(self) -> Loaded:
        """The stored index (see `Loaded`), every segment checked against its entry."""

    def save(
        self, params: Mapping[str, Any], arrays: Arrays | None, head: HeadMaker | None
    ) -> None:
        """Append `arrays` as a new segment (None: only make sure the index exists), merge
        the segments into one if there are more than `COMPACT_AT`, and store the head that
        `head` signs for the segments the index then has, all at once."""

    def close(self) -> None:
        """Release what the store holds (a lock, a connection)."""


_EMPTY_KEYS = np.zeros((0, 32), dtype=np.uint8)


def batch_segment(batch: ShingleBatch, signatures: Signatures) -> Arrays:
    """A batch's sketches as segment arrays (ids and exact keys are added by the index)."""
    return {
        "ids": _EMPTY_KEYS,
        "exact": _EMPTY_KEYS,
        "doc": batch.doc,
        "kind": batch.kind,
        "signatures": signatures,
        "offsets": batch.offsets,
        "shingles": batch.hashes,
    }


def empty_segment(params: Mapping[str, Any]) -> Arrays:
    """A segment of no samples, with the array types of sketches made with `params`."""
    dtype = np.uint32 if params["scheme"] == "affine32" else np.uint64
    return {
        "ids": _EMPTY_KEYS,
        "exact": _EMPTY_KEYS,
        "doc": np.zeros(0, dtype=np.int64),
        "kind": np.zeros(0, dtype=np.uint8),
        "signatures": np.zeros((0, int(params["num_perm"])), dtype=dtype),
        "offsets": np.zeros(1, dtype=np.int64),
        "shingles": np.zeros(0, dtype=np.uint64),
    }


def concat_segments(parts: Sequence[Arrays]) -> Arrays:
    """Segments one after the other, as one."""
    doc_base = np.cumsum([0] + [len(p["ids"]) for p in parts])
    shingle_base = np.cumsum([0] + [len(p["shingles"]) for p in parts])
    return {
        "ids": np.concatenate([p["ids"] for p in parts]),
        "exact": np.concatenate([p["exact"] for p in parts]),
        "doc": np.concatenate([p["doc"] + doc_base[i] for i, p in enumerate(parts)]),
        "kind": np.concatenate([p["kind"] for p in parts]),
        "signatures": np.concatenate([p["signatures"] for p in parts]),
        "offsets": np.concatenate(
            [np.zeros(1, dtype=np.int64)]
            + [p["offsets"][1:] + shingle_base[i] for i, p in enumerate(parts)]
        ),
        "shingles": np.concatenate([p["shingles"] for p in parts]),
    }


def id_rows(sample_ids: Iterable[str]) -> npt.NDArray[np.uint8]:
    """Sample ids (`sha256:<hex>`) as a segment's `ids` array, one 32-byte row each."""
    return key_rows(bytes.fromhex(i.removeprefix(DIGEST_PREFIX)) for i in sample_ids)


def key_rows(keys: Iterable[bytes]) -> npt.NDArray[np.uint8]:
    """32-byte keys as a segment's (n, 32) uint8 array."""
    data = b"".join(keys)
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, 32).copy()


@contextmanager
def locked(path: Path, *, shared: bool) -> Iterator[None]:
    """Hold the folder's lock: shared to read, exclusive to save."""
    try:
        handle = lock_file(path / _LOCK)
    except PermissionError:
        if shared:  # no lock file can be made here: a read-only folder, read it as it is
            yield
            return
        raise
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield


def lock_file(path: Path) -> io.FileIO:
    """The lock file at `path`, made if missing, open to read and write. Whoever can write the
    folder could put a FIFO there (opening one waits for a reader forever) or a link: it must
    be a regular file, and a link is not followed. PermissionError where none can be made."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        raise
    except OSError as exc:
        raise InputError(
            f"cannot lock the dedup index at {path.parent}: {path.name}: {exc.strerror or exc}"
        ) from exc
    handle = io.FileIO(fd, "r+")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise InputError(
            f"cannot lock the dedup index at {path.parent}: {path.name} is not a regular file"
        )
    return handle


def _damaged(path: Path, what: str) -> InputError:
    return InputError(
        f"the dedup index at {path} is damaged: {what} (restore it from a backup, or move the "
        "folder away to start a new index)"
    )


def sealed_error(where: str) -> InputError:
    """The error for a save without a head over an index that has one."""
    return InputError(
        f"the dedup index{where} is sealed by a signed head: save it with its ledger "
        "(`DedupIndex.at(home, ledger=...)`, as `synthguard screen` does), or a later screen "
        "refuses it"
    )


def params_mismatch(where: str, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> InputError:
    """The error for sketch parameters other than those the index `where` was built with."""
    differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    told = ", ".join(f"{k}={stored.get(k)!r} (asked {wanted.get(k)!r})" for k in differ)
    return InputError(
        f"the dedup index{where} was built with other parameters: {told}; use the same "
        "parameters or a new index"
    )


def params_problem(params: object) -> bool:
    """Whether stored sketch parameters are unusable (not the shape `sketch_params` makes)."""
    if not isinstance(params, dict):
        return True
    try:
        return int(params["num_perm"]) < 1 or params["scheme"] not in ("affine32", "affine64")
    except (KeyError, TypeError, ValueError):
        return True


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The folder's manifest, checked; None if it has none yet."""
    try:
        data = read_home_file(path / MANIFEST, "manifest", MANIFEST_MAX_BYTES)
    except InputError as exc:
        raise _damaged(path, str(exc)) from exc
    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise _damaged(path, f"{MANIFEST} is not readable JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
        raise _damaged(path, f"{MANIFEST} is not a {INDEX_FORMAT} manifest")
    params, segments = manifest.get("params"), manifest.get("segments")
    if not isinstance(params, dict) or not isinstance(segments, list):
        raise _damaged(path, f"{MANIFEST} lacks its params or segments")
    for segment in segments:
        if not (
            isinstance(segment, dict)
            and isinstance(segment.get("file"), str)
            and _SEGMENT_NAME.fullmatch(segment["file"])
            and isinstance(segment.get("sha256"), str)
            and all(isinstance(segment.get(k), int) for k in ("docs", "sketches"))
        ):
            raise _damaged(path, f"{MANIFEST} lists a malformed segment {segment!r}")
    if params_problem(params):
        raise _damaged(path, f"{MANIFEST} has malformed params")
    if not isinstance(manifest.get("head", ""), str):
        raise _damaged(path, f"{MANIFEST} has a malformed head")
    return manifest


def _entries(segments: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{key: segment[key] for key in ENTRY_KEYS} for segment in segments]


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as stored: indented, sorted JSON."""
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _next_name(segments: Sequence[Mapping[str, Any]]) -> str:
    taken = [int(s["file"][len("segment-") : -len(".npz")]) for s in segments]
    return f"segment-{max(taken, default=0) + 1:06d}.npz"


def encode_segment(arrays: Arrays) -> tuple[bytes, dict[str, Any]]:
    """A segment's stored bytes, and its entry in a manifest (docs, sketches, SHA-256)."""
    buffer = io.BytesIO()
    save: Callable[..., None] = np.savez  # its stub types **arrays as its keyword flags
    save(buffer, **arrays)
    data = buffer.getvalue()
    entry = {
        "docs": len(arrays["ids"]),
        "sketches": len(arrays["doc"]),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return data, entry


def decode_segment(data: bytes, segment: Mapping[str, Any], params: Mapping[str, Any]) -> Part:
    """The sample ids, exact keys and arrays of stored segment bytes, checked against the
    segment's manifest entry and the sketch parameters; ValueError says what is wrong."""
    if hashlib.sha256(data).hexdigest() != segment["sha256"]:
        raise ValueError("does not match its SHA-256 in the manifest")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _SEGMENT_ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"is not a segment ({exc})") from exc
    problem = _segment_problem(arrays, segment, params)
    if problem:
        raise ValueError(problem)
    ids = [DIGEST_PREFIX + row.tobytes().hex() for row in arrays["ids"]]
    exact = [row.tobytes() for row in arrays["exact"]]
    return ids, exact, arrays


def write_segment(
    path: Path, segments: Sequence[Mapping[str, Any]], arrays: Arrays
) -> dict[str, Any]:
    """Write `arrays` as a new segment file after `segments`; return its manifest entry."""
    data, entry = encode_segment(arrays)
    name = _next_name(segments)
    write_atomic(path / name, data)
    return {"file": name, **entry}


def read_segment(path: Path, segment: Mapping[str, Any], params: Mapping[str, Any]) -> Part:
    """The sample ids, exact keys and arrays of the segment a manifest entry names, checked
    against that entry and the sketch parameters."""
    name = segment["file"]
    try:
        data = read_home_file(path / name, "segment", SEGMENT_MAX_BYTES)
    except InputError as exc:
        raise _damaged(path, str(exc)) from exc
    if data is None:
        raise _damaged(path, f"segment {name} is missing")
    try:
        return decode_segment(data, segment, params)
    except ValueError as exc:
        raise _damaged(path, f"segment {name} {exc}") from exc


def _segment_problem(
    arrays: Arrays, segment: Mapping[str, Any], params: Mapping[str, Any]
) -> str | None:
    docs, sketches = segment["docs"], segment["sketches"]
    dtype = np.uint32 if params["scheme"] == "affine32" else np.uint64
    expected = {
        "ids": (np.uint8, (docs, 32)),
        "exact": (np.uint8, (docs, 32)),
        "doc": (np.int64, (sketches,)),
        "kind": (np.uint8, (sketches,)),
        "signatures": (dtype, (sketches, int(params["num_perm"]))),
        "offsets": (np.int64, (sketches + 1,)),
    }
    for key, (kind, shape) in expected.items():
        if arrays[key].dtype != kind or arrays[key].shape != shape:
            return f"has {key} of {arrays[key].dtype} {arrays[key].shape}, not {shape}"
    shingles, offsets, doc = arrays["shingles"], arrays["offsets"], arrays["doc"]
    if shingles.dtype != np.uint64 or shingles.ndim != 1:
        return "has malformed shingles"
    if offsets[0] != 0 or offsets[-1] != len(shingles) or np.any(np.diff(offsets) < 0):
        return "has offsets that do not cover its shingles"
    if sketches and (doc.min() < 0 or doc.max() >= docs or arrays["kind"].max() >= len(KINDS)):
        return "has sketches of unknown samples or kinds"
    return None


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that it is either the old one or the new one, also after a crash."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class SegmentFolder:
    """An index saved in a folder: `manifest.json` and segment files, under a file lock.

    A screen decides from the index it loads: two at once, each deciding from the index as it
    was before either saved, would not see each other's samples (both keep their copies of
    the same text). So, as for an index in the database, a screen's folder is locked from its
    `load` until it saves or closes (`screen.lock`, beside the `lock` that loads and saves
    take) when `exclusive` (a home's index, as `DedupIndex.at` opens it for a screen); another
    screen waits, and after WAIT_NOTE_AFTER seconds `on_wait` hears who holds it. `verify`,
    which decides nothing, and an index opened by its path take no such lock."""

    def __init__(
        self,
        path: Path,
        *,
        on_wait: Callable[[str], None] | None = None,
        exclusive: bool = False,
    ) -> None:
        self.path = path
        self.where = f" at {path}"
        self._on_wait = on_wait
        self._exclusive = exclusive
        self._screen_lock: io.FileIO | None = None

    def load(self) -> Loaded:
        """The folder's index (nothing if it holds none yet)."""
        if self._exclusive:
            self._hold()
        if not (self.path / MANIFEST).exists():
            return None, [], [], None
        with locked(self.path, shared=True):
            manifest = read_manifest(self.path)
            if manifest is None:
                return None, [], [], None
            params: dict[str, Any] = manifest["params"]
            segments = manifest["segments"]
            parts = [read_segment(self.path, s, params) for s in segments]
            head = manifest.get("head")
            return params, parts, _entries(segments), None if head is None else head.encode()

    def save(
        self, params: Mapping[str, Any], arrays: Arrays | None, head: HeadMaker | None
    ) -> None:
        """Write `arrays` as a new segment and a manifest naming it, with the head signed
        for it (see the module)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the dedup index at {self.path}: {exc}") from exc
        with locked(self.path, shared=False):
            stored = read_manifest(self.path)
            if head is None and stored is not None and "head" in stored:
                raise sealed_error(self.where)
            if arrays is None and stored is not None and (head is None or "head" in stored):
                return
            manifest = stored or {"format": INDEX_FORMAT, "params": dict(params), "segments": []}
            if manifest["params"] != params:
                raise params_mismatch(self.where, manifest["params"], params)
            segments: list[dict[str, Any]] = manifest["segments"]
            if arrays is not None:
                segments.append(write_segment(self.path, segments, arrays))
            obsolete: list[str] = []
            if len(segments) > COMPACT_AT:
                parts = [read_segment(self.path, s, params) for s in segments]
                obsolete = [s["file"] for s in segments]
                merged = concat_segments([arrays for _, _, arrays in parts])
                segments[:] = [write_segment(self.path, segments, merged)]
            if head is not None:
                # In the manifest, so that the head and the segments it lists change at once.
                previous = stored.get("head") if stored is not None else None
                signed = head(params, _entries(segments), previous and previous.encode())
                manifest["head"] = signed.decode("utf-8")
            write_atomic(self.path / MANIFEST, manifest_bytes(manifest))
            for name in obsolete:
                (self.path / name).unlink(missing_ok=True)
        self.close()  # saved: the next screen may decide from it

    def close(self) -> None:
        """Let the next screen in (the lock `load` took, if any)."""
        handle, self._screen_lock = self._screen_lock, None
        if handle is not None:
            handle.close()  # closing the file releases its lock

    def _hold(self) -> None:
        """Take the screen's lock on the folder, waiting for the screen that holds it."""
        if self._screen_lock is not None:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = lock_file(self.path / _SCREEN_LOCK)
        except PermissionError:
            return  # a read-only folder: nothing can be saved there, nor decided against
        except OSError as exc:
            raise InputError(f"cannot lock the dedup index at {self.path}: {exc}") from exc
        started, told = time.monotonic(), False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self._on_wait and not told and time.monotonic() - started >= WAIT_NOTE_AFTER:
                    self._on_wait(self._holder_note(handle))
                    told = True
                time.sleep(_POLL_SECONDS)
        # Who holds it, for a screen that waits: this process.
        handle.seek(0)
        handle.truncate()
        handle.write(f"{socket.gethostname()} pid {os.getpid()}\n".encode())
        self._screen_lock = handle

    def _holder_note(self, handle: io.FileIO) -> str:
        handle.seek(0)
        holder = (handle.read(200) or b"").decode("utf-8", "replace").strip()
        who = f"another screen ({holder})" if holder else "another screen"
        return f"waiting for the dedup index{self.where}: {who} holds it until that screen ends"


_SCREEN_LOCK = "screen.lock"
_POLL_SECONDS = 0.1
