"""An append-only file of checksummed records, the only on-disk format Titanic uses.

Why a log rather than the Guide's one-file-per-message: one ``fsync`` per
acknowledged request instead of file + directory, no UUIDs in file names (so
no path traversal is even possible), and a kill -9 in the middle of a write
leaves at worst one torn record at the tail, which the reader detects and
skips. Both the Titanic service (requests, replies, closes) and the Titanic
client (its acknowledged UUIDs) keep their state this way.

Record layout (all integers big-endian)::

    magic  "TIR1"   4 bytes
    length          4 bytes, payload length
    crc_payload     4 bytes, CRC-32 of the payload
    crc_header      4 bytes, CRC-32 of the 12 bytes above
    payload         ``length`` bytes

The header has its own checksum so a damaged length is never trusted: when
the header is bad the reader scans forward for the next magic; when only the
payload is bad it skips exactly ``length`` bytes. Either way every intact
record before and after the damage is kept.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"TIR1"
_HEADER = struct.Struct(">4sIII")
HEADER_SIZE = _HEADER.size
MAX_PAYLOAD = 64 * 1024 * 1024  # a larger length can only be damage

log = logging.getLogger(__name__)


def encode_record(payload: bytes) -> bytes:
    """One framed record, ready to append."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    crc_payload = zlib.crc32(payload)
    head = struct.pack(">4sII", MAGIC, len(payload), crc_payload)
    return head + struct.pack(">I", zlib.crc32(head)) + payload


@dataclass
class ScanReport:
    """What a scan found besides the good records: damage, for logs and tests."""

    records: int = 0
    damaged: int = 0  # records skipped because a checksum failed
    torn_tail: bool = False  # the last record ends past the end of the file
    skipped_bytes: int = 0  # garbage passed over while resynchronising


def _header_at(data: bytes, pos: int) -> tuple[int, int] | None:
    """(length, crc_payload) of a valid header at ``pos``, else None."""
    if pos + HEADER_SIZE > len(data) or data[pos : pos + 4] != MAGIC:
        return None
    _magic, length, crc_payload, crc_header = _HEADER.unpack_from(data, pos)
    if zlib.crc32(data[pos : pos + 12]) != crc_header or length > MAX_PAYLOAD:
        return None
    return length, crc_payload


def _valid_record_at(data: bytes, pos: int) -> bool:
    header = _header_at(data, pos)
    if header is None:
        return False
    length, crc_payload = header
    end = pos + HEADER_SIZE + length
    return end <= len(data) and zlib.crc32(data[pos + HEADER_SIZE : end]) == crc_payload


def _next_valid_record(data: bytes, after: int) -> int:
    """Start of the first fully valid record beyond ``after``, or -1."""
    pos = data.find(MAGIC, after + 1)
    while pos >= 0:
        if _valid_record_at(data, pos):
            return pos
        pos = data.find(MAGIC, pos + 1)
    return -1


def scan_bytes(data: bytes, report: ScanReport | None = None) -> Iterator[bytes]:
    """Yield every intact payload in ``data``, in order, skipping damage.

    A record whose header or payload fails its checksum is skipped by
    resynchronising on the next fully valid record, never by trusting the
    damaged length: a torn write followed by later appends loses nothing
    but the torn record.
    """
    rep = report if report is not None else ScanReport()
    pos = 0
    size = len(data)
    while pos < size:
        if _valid_record_at(data, pos):
            length = _HEADER.unpack_from(data, pos)[1]
            start = pos + HEADER_SIZE
            rep.records += 1
            yield data[start : start + length]
            pos = start + length
            continue
        header = _header_at(data, pos)
        nxt = _next_valid_record(data, pos)
        end = size if nxt < 0 else nxt
        rep.skipped_bytes += end - pos
        if nxt < 0 and (header is None or pos + HEADER_SIZE + header[0] > size):
            rep.torn_tail = True  # an incomplete record with nothing valid after it
        else:
            rep.damaged += 1
        pos = end


def fsync_directory(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX needs the dir fsynced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class RecordLog:
    """One append-only record file. Thread-safe: every write holds one lock.

    ``sync=False`` skips every fsync; it exists only so the benchmark can show
    what durability costs.
    """

    def __init__(self, path: Path, *, sync: bool = True) -> None:
        self.path = Path(path)
        self.sync = sync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.bytes_appended = 0

    # -- reading ---------------------------------------------------------

    def read_all(self) -> tuple[list[bytes], ScanReport]:
        """Every intact payload on disk (damage is logged and skipped)."""
        report = ScanReport()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return [], report
        payloads = list(scan_bytes(data, report))
        if report.damaged or report.torn_tail or report.skipped_bytes:
            log.warning(
                "%s: kept %d records, skipped %d damaged, torn tail: %s, %d bytes skipped",
                self.path, report.records, report.damaged, report.torn_tail,
                report.skipped_bytes,
            )
        return payloads, report

    # -- writing ---------------------------------------------------------

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if created and self.sync:
                fsync_directory(self.path.parent)
        return self._fd

    def append(self, payload: bytes) -> None:
        """Append one record; durable on return unless ``sync`` is off."""
        self.append_many([payload])

    def append_many(self, payloads: Iterable[bytes]) -> None:
        """Append records with one write and one fsync (a small group commit)."""
        blob = b"".join(encode_record(p) for p in payloads)
        with self._lock:
            fd = self._open()
            before = os.fstat(fd).st_size
            try:
                _write_all(fd, blob)
            except OSError:
                # Do not leave a partial record for later appends to follow.
                try:
                    os.ftruncate(fd, before)
                except OSError:
                    pass
                raise
            if self.sync:
                os.fsync(fd)
            self.bytes_appended += len(blob)

    def rewrite(self, payloads: Iterable[bytes]) -> None:
        """Atomically replace the file with exactly ``payloads`` (compaction).

        Written to a temporary file, fsynced, renamed over the log, directory
        fsynced: a crash at any point leaves either the old or the new log.
        """
        blob = b"".join(encode_record(p) for p in payloads)
        tmp = self.path.with_name(self.path.name + ".compact")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, blob)
                if self.sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            os.replace(tmp, self.path)
            if self.sync:
                fsync_directory(self.path.parent)
            self.bytes_appended = 0

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
