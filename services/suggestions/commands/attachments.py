"""Attachment files, content-addressed: ``<data_dir>/attachments/<sha256[:2]>/<sha256>``.

The file is written (hashed while it streams in) before its ``AttachmentAdded`` event, so an
event never names a file that is not there; the same content is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from fastapi import UploadFile

from services.suggestions.domain.errors import InvalidInput

CHUNK = 1 << 16
MAX_BYTES = 50 * 1024 * 1024


def root(data_dir: Path) -> Path:
    return data_dir / "attachments"


def path_of(data_dir: Path, sha256: str) -> Path:
    return root(data_dir) / sha256[:2] / sha256


async def store_upload(data_dir: Path, upload: UploadFile, max_bytes: int = MAX_BYTES) -> tuple[str, int]:
    """Stream ``upload`` to its content address; returns (sha256, size)."""
    base = root(data_dir)
    base.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=base, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidInput("file", f"附件过大：单个文件不能超过 {max_bytes // (1024 * 1024)} MB。")
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        final = path_of(data_dir, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, final)
        return sha, size
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
