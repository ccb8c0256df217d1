"""The raw store: content addresses, durable batches, dedup, and no debris on failure."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from gateway.rawstore import RawStore

MESSAGES = [
    b"From: a@example.net\r\nSubject: test\r\n\r\nbody\r\n",
    "Звернення щодо ремонту дороги\r\n".encode(),
    b"",
    bytes(range(256)) * 64,
]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("blob", MESSAGES, ids=["ascii", "cyrillic", "empty", "binary-16k"])
def test_put_stores_the_exact_bytes_under_their_sha256(tmp_path: Path, blob: bytes) -> None:
    store = RawStore(tmp_path / "raw")
    sha = store.put(blob)
    assert sha == hashlib.sha256(blob).hexdigest()
    path = store.path_for(sha)
    assert path == tmp_path / "raw" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == blob
    assert store.get(sha) == blob
    assert store.exists(sha)
    assert list((tmp_path / "raw" / "tmp").iterdir()) == []


def test_put_many_returns_shas_in_order_and_stores_each_once(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    blobs = [MESSAGES[0], MESSAGES[1], MESSAGES[0], MESSAGES[3]]
    shas = store.put_many(blobs)
    assert shas == [hashlib.sha256(b).hexdigest() for b in blobs]
    assert shas[0] == shas[2]
    stored = _files(tmp_path / "raw")
    assert [p.name for p in stored] == sorted({*shas})
    for sha, blob in zip(shas, blobs, strict=True):
        assert store.get(sha) == blob


def test_second_put_of_the_same_bytes_leaves_the_first_file_alone(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    sha = store.put(MESSAGES[1])
    before = os.stat(store.path_for(sha))
    again = RawStore(tmp_path / "raw")  # a fresh instance knows nothing in memory
    assert again.put_many([MESSAGES[1], MESSAGES[1]]) == [sha, sha]
    after = os.stat(store.path_for(sha))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(_files(tmp_path / "raw")) == 1


def test_fan_out_folder_removed_behind_our_back_is_made_again(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    first = store.put(b"one")
    shutil.rmtree(tmp_path / "raw" / first[:2])
    # Bytes with the same four leading hex digits would be a hash search; instead check
    # that the store recreates the folder it believes exists when it stores `one` again.
    assert store.put(b"one") == first
    assert store.get(first) == b"one"


def test_failure_before_the_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    sha = hashlib.sha256(MESSAGES[0]).hexdigest()
    # A regular file where the fan-out folder must go: the rename step fails for real.
    (tmp_path / "raw" / sha[:2]).write_bytes(b"in the way")
    with pytest.raises(OSError):
        store.put_many([MESSAGES[1], MESSAGES[0]])
    assert list((tmp_path / "raw" / "tmp").iterdir()) == []
    assert not store.exists(sha)


def test_unwritable_temporary_folder_raises(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    shutil.rmtree(store.tmp)
    store.tmp.write_bytes(b"not a folder")
    with pytest.raises(OSError):
        store.put(b"x")


def test_erase(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    sha = store.put(b"to be forgotten")
    assert store.erase(sha) is True
    assert not store.exists(sha)
    assert store.erase(sha) is False
    # Stored again after erasure (a client retrying): written anew.
    assert store.put(b"to be forgotten") == sha
    assert store.get(sha) == b"to be forgotten"
