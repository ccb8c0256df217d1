"""Content-addressed store of the exact bytes we received (and attachment bodies).

Layout: `<root>/<aa>/<bb>/<sha256>`; files are written once and never modified.
Durability protocol for a batch (Mailman switchboard discipline):

1. write every new blob to a temporary file under `<root>/tmp/`;
2. flush them to disk (one `syncfs(2)` for the whole batch on Linux, else `fsync` each);
3. rename each into its content address;
4. flush again so that the renames (directory entries) are durable too.

Because a blob reaches its final name only after its bytes are on disk, a crash can never
leave a torn file under a content address: an existing final file is trusted as complete.
Received mail reaches this store from the worker (`Ingest.spill`), after intake has made it
durable in its database row; attachment bodies are written by the worker directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path


def _load_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


class RawStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._syncfs = _load_syncfs()
        # Plain strings and os.* calls on the hot path: pathlib costs more than the
        # syscalls themselves at a few hundred messages per second.
        self._root_s = os.fspath(root)
        self._tmp_s = os.fspath(self.tmp)
        # Fan-out folders known to exist ("aabb"), so a store that has been running for a
        # while makes no mkdir call per message. Folders are never removed by us; if one
        # disappears anyway the rename fails and the folder is made again.
        self._dirs: set[str] = set()

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def put(self, blob: bytes) -> str:
        return self.put_many([blob])[0]

    def put_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Store blobs durably; returns their sha256 hex digests in order."""
        shas = [hashlib.sha256(b).hexdigest() for b in blobs]
        root = self._root_s
        pending: dict[str, str] = {}  # sha256 -> temporary file not yet renamed
        fds: list[int] = []
        batch = uuid.uuid4().hex  # unique names even with several processes on one store
        try:
            for i, (sha, blob) in enumerate(zip(shas, blobs, strict=True)):
                if sha in pending or os.path.exists(f"{root}/{sha[:2]}/{sha[2:4]}/{sha}"):
                    continue
                tmp = f"{self._tmp_s}/{sha}.{batch}.{i}"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
                fds.append(fd)
                pending[sha] = tmp
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
            if not pending:
                return shas
            self._flush(fds)
            dirs = set()
            for sha in list(pending):
                leaf = f"{root}/{sha[:2]}/{sha[2:4]}"
                self._rename(pending[sha], leaf, sha)
                del pending[sha]
                dirs.add(Path(leaf))
            self._flush_dirs(dirs)
        finally:
            for fd in fds:
                os.close(fd)
            for tmp in pending.values():  # a failure before the rename: leave no debris
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return shas

    def _rename(self, tmp: str, leaf: str, sha: str) -> None:
        key = sha[:4]
        if key not in self._dirs:
            os.makedirs(leaf, exist_ok=True)
            self._dirs.add(key)
        try:
            os.replace(tmp, f"{leaf}/{sha}")
        except FileNotFoundError:
            if not os.path.exists(tmp):
                raise
            os.makedirs(leaf, exist_ok=True)  # the folder was removed behind our back
            os.replace(tmp, f"{leaf}/{sha}")

    def _flush(self, fds: list[int]) -> None:
        if self._syncfs is not None and fds and self._syncfs(fds[0]) == 0:
            return
        for fd in fds:
            os.fsync(fd)

    def _flush_dirs(self, dirs: set[Path]) -> None:
        # Parent directories of new fan-out folders need their entries flushed as well;
        # syncfs covers every directory on the file system in one call.
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if self._syncfs is not None and self._syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
        for d in {*dirs, *(p.parent for p in dirs), *(p.parent.parent for p in dirs)}:
            dfd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def erase(self, sha256: str) -> bool:
        """Retention: remove a blob. Returns False when it was not there."""
        p = self.path_for(sha256)
        try:
            p.unlink()
        except FileNotFoundError:
            return False
        return True
