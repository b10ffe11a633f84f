"""In-memory zips whose members are deflated by several threads (pigz's scheme): the viewer zip, scene files.

``zipfile`` deflates a member on one core (about 2 s for the ~145 MB of the ``.splatv`` viewer zip). Here each
member is cut into fixed blocks; every block is deflated on its own (zlib releases the GIL), primed with the 32 KiB
before it as a preset dictionary so that matches still reach back across the cut, and flushed to a byte boundary
(``Z_SYNC_FLUSH``); the last block ends the stream (``Z_FINISH``). The blocks concatenate into one ordinary raw
deflate stream. The bytes depend on the data, level and block size only, never on the number of threads.

The archive is written as ``zipfile`` writes it (local headers, central directory, end record; no zip64: members
and archive stay under 4 GiB), with the member attributes of ``viewer_html.zip_entry``: mode 0644, unix, dated
2020-01-01. With a single block per member the bytes equal ``zipfile``'s (checked by the tests).
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

DEFLATE_BLOCK = 1 << 23  # 8 MiB: a few blocks a thread on the viewer zip; the size grows by ~0.01 % a cut
WINDOW = 1 << 15  # deflate's window: the preset dictionary of a block is the data just before it
ZIP_LIMIT = 0xFFFFFFFF  # no zip64 records: sizes and offsets must fit 32 bits
DOS_TIME, DOS_DATE = 0, (2020 - 1980) << 9 | 1 << 5 | 1  # 2020-01-01 00:00:00, as ``zip_entry``
UNIX_FILE_0644 = 0o100644 << 16
VERSION = 20  # "2.0": deflate


def default_workers() -> int:
    """Threads for deflating or encoding frames: the CPUs this process may use (at most 8; NumPy and zlib release
    the GIL)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def _deflate_block(data: memoryview, start: int, end: int, level: int) -> bytes:
    last = end >= len(data)
    if start:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=bytes(data[max(0, start - WINDOW) : start]))
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = compressor.compress(data[start:end])
    return out + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def deflate(data: bytes, level: int = 6, pool: ThreadPoolExecutor | None = None, block: int = DEFLATE_BLOCK) -> bytes:
    """One raw deflate stream of ``data`` made of independently deflated ``block``-byte pieces (run on ``pool``)."""
    view = memoryview(data)
    starts = range(0, max(len(data), 1), block)
    if pool is None:
        return b"".join(_deflate_block(view, s, s + block, level) for s in starts)
    return b"".join(pool.map(lambda s: _deflate_block(view, s, s + block, level), starts))


def _local_header(name: bytes, flags: int, crc: int, packed: int, size: int) -> bytes:
    head = struct.pack("<IHHHHHIIIHH", 0x04034B50, VERSION, flags, zlib.DEFLATED, DOS_TIME, DOS_DATE, crc, packed, size,
                       len(name), 0)
    return head + name


def _central_header(name: bytes, flags: int, crc: int, packed: int, size: int, offset: int) -> bytes:
    head = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 3 << 8 | VERSION, VERSION, flags, zlib.DEFLATED, DOS_TIME,
                       DOS_DATE, crc, packed, size, len(name), 0, 0, 0, 0, UNIX_FILE_0644, offset)
    return head + name


def deflated_zip(members: list[tuple[str, bytes]], level: int = 6, workers: int | None = None,
                 block: int = DEFLATE_BLOCK) -> bytes:
    """The bytes of a zip holding ``members`` (name, data), deflated at ``level`` by ``workers`` threads."""
    parts, central, offset = [], [], 0
    with ThreadPoolExecutor(workers or default_workers()) as pool:
        crcs = [pool.submit(zlib.crc32, data) for _, data in members]
        streams = [deflate(data, level, pool, block) for _, data in members]
        for (name, data), crc, stream in zip(members, crcs, streams):
            encoded = name.encode("utf-8")
            flags = 0 if name.isascii() else 0x800  # bit 11: the name is UTF-8
            if max(len(data), len(stream), offset) > ZIP_LIMIT:
                raise ValueError(f"zip member {name!r} is too large for a zip without zip64 records")
            parts += [_local_header(encoded, flags, crc.result(), len(stream), len(data)), stream]
            central.append(_central_header(encoded, flags, crc.result(), len(stream), len(data), offset))
            offset += len(parts[-2]) + len(stream)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(parts) + directory + end
