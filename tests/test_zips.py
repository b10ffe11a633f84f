"""``landscape4d.zips``: zips deflated in parallel blocks, read back by ``zipfile``, ``unzip`` and raw zlib."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
import zlib

import numpy as np
import pytest

from exporters.viewer_html import zip_entry
from landscape4d.zips import deflate, deflated_zip


def members() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, 40_000, dtype=np.uint8).tobytes()
    text = ("<p>landscape4d viewer</p>\n" * 3000).encode("utf-8")
    halves = np.round(rng.normal(size=30_000), 2).astype(np.float16).tobytes()  # like a .splatv: repetitive, binary
    return [("viewer.html", text + noisy), ("scène.splatv", halves + text), ("empty.txt", b"")]


def zipfile_bytes(items: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, data in items:
            archive.writestr(zip_entry(name), data)
    return buffer.getvalue()


def test_one_block_a_member_is_zipfiles_bytes():
    """Headers, central directory and the deflate stream are exactly what ``zipfile`` writes."""
    assert deflated_zip(members(), level=6, workers=2, block=1 << 30) == zipfile_bytes(members())


@pytest.mark.parametrize("block", [4096, 50_000])
def test_blocks_read_back_and_do_not_depend_on_threads(tmp_path, block):
    data = deflated_zip(members(), workers=1, block=block)
    assert deflated_zip(members(), workers=3, block=block) == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # CRCs match
        assert [(i.filename, i.external_attr >> 16, i.create_system) for i in archive.infolist()] == [
            (name, 0o100644, 3) for name, _ in members()
        ]
        for name, content in members():
            assert archive.read(name) == content
    for _, content in members():  # one raw deflate stream
        assert zlib.decompress(deflate(content, 6, block=block), -15) == content
    if shutil.which("unzip"):  # an independent reader
        (tmp_path / "a.zip").write_bytes(data)
        subprocess.run(["unzip", "-q", "-t", str(tmp_path / "a.zip")], check=True)


def test_blocks_cost_almost_nothing_in_size():
    _, content = members()[1]
    whole, cut = len(zlib.compress(content, 6)), len(deflate(content, 6, block=8192))
    assert cut <= whole * 1.02 + 64
