"""Byte-level work on raw text files before DuckDB reads them: encoding detection (line by line, looking past
the first 4 MiB when the start holds no evidence), streamed transcoding to UTF-8 (whole file, or line by line
so that one undecodable line does not spoil the file), whitespace-aligned columns to tab-separated, and
removal of over-long lines (recorded with their line numbers, for the quarantine).

Nothing here changes a raw file: every output goes to the campaign cache. :mod:`helpers.sources` decides
when a file needs preparing and reads the result.
"""

from __future__ import annotations

import codecs
import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IngestError

__all__ = ["SAMPLE_BYTES", "detect_encoding", "transcode_to_utf8", "prepare_text", "Prepared"]

#: bytes read from the start of a file to detect its encoding (more when they hold no non-ASCII line)
SAMPLE_BYTES = 4 << 20
#: characters of a removed line kept for the quarantine's ``raw_line``
PREVIEW_CHARS = 200
_WS = re.compile(rb"[ \t]+")


def _open_binary(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _line_bytes(fh, block_bytes: int):
    """Yield whole lines (with their ``\\n``) of a binary stream, reading ``block_bytes`` at a time."""
    carry = b""
    while True:
        block = fh.read(block_bytes)
        if not block:
            if carry:
                yield carry
            return
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield from data[:cut].splitlines(keepends=True)


def _evidence(data: bytes, bad_samples: list[bytes]) -> tuple[int, int]:
    """(non-ASCII lines that are valid UTF-8, lines that are not) in ``data``."""
    if data.isascii():
        return 0, 0
    good = bad = 0
    for line in data.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
            if len(bad_samples) < 1000:
                bad_samples.append(line)
    return good, bad


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def detect_encoding(path: str | os.PathLike) -> str:
    """Guess a text file's encoding: ``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` or ``gb18030``.

    Decided line by line on the first 4 MiB (further, block by block, while all lines read so far are ASCII):
    when the non-ASCII lines that are valid UTF-8 are at least as many as those that are not, the file is
    ``utf-8`` and its few undecodable lines go to quarantine as ``bad_encoding``; else, when most of those
    lines decode as GB18030 (a superset of GBK and GB2312, the encodings of most Chinese exports), ``gb18030``.
    Gzipped files are looked into.
    """
    good = bad = 0
    samples: list[bytes] = []
    read = 0
    with _open_binary(str(path)) as fh:
        carry = b""
        while True:
            block = fh.read(SAMPLE_BYTES)
            if read == 0:
                if block.startswith(codecs.BOM_UTF8):
                    return "utf-8-sig"
                if block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    return "utf-16"
            read += len(block)
            data = carry + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            data, carry = data[:cut], data[cut:]
            g, b = _evidence(data, samples)
            good, bad = good + g, bad + b
            if not block or good + bad > 0:
                break
    if bad <= good:
        return "utf-8"
    gb = sum(1 for line in samples if _decodes(line, "gb18030"))
    if gb > len(samples) - gb:
        return "gb18030"  # its few undecodable lines go to quarantine as bad_encoding
    if good:
        return "utf-8"
    raise IngestError(
        f"{path}: cannot tell the text encoding (neither UTF-8 nor GB18030; first undecodable line starts "
        f"{samples[0][:60]!r}); set tables.<table>.source.encoding in the campaign params (e.g. big5 or latin-1)"
    )


def transcode_to_utf8(
    src: str | os.PathLike, dst: str | os.PathLike, encoding: str, *, chunk_chars: int = 8 << 20
) -> Path:
    """Stream ``src`` (any codec Python knows; gzip allowed) into ``dst`` as UTF-8, in bounded memory.

    Strict: raises :class:`IngestError` at the first undecodable byte. Ingest uses :func:`prepare_text`,
    which keeps such lines for the quarantine instead.
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".part")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    done = 0
    try:
        with _open_binary(str(src)) as fin, open(tmp, "w", encoding="utf-8", newline="") as fout:
            while True:
                block = fin.read(chunk_chars)
                try:
                    fout.write(decoder.decode(block, final=not block))
                except UnicodeDecodeError as e:
                    raise IngestError(
                        f"{src}: not valid {encoding} near byte {done + e.start:,}; set "
                        f"tables.<table>.source.encoding to the file's real encoding"
                    ) from None
                if not block:
                    break
                done += len(block)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dst


@dataclass
class Prepared:
    """A prepared copy of a raw file: ``path`` (UTF-8), and the raw lines left out of it.

    ``removed`` holds ``(line number in the raw file, reason, first characters)``, in line order.
    """

    path: str
    removed: list[tuple[int, str, str]] = field(default_factory=list)

    def positions(self) -> list[int]:
        """For each removed line, the copy line that took its place (the copy's line ``n`` is the raw file's
        line ``n + #{positions <= n}``)."""
        return [line - i for i, (line, _, _) in enumerate(self.removed)]

    def raw_line(self, copy_line: int) -> int:
        return copy_line + sum(1 for p in self.positions() if p <= copy_line)


def _ws_line(line: bytes) -> bytes:
    fields = _WS.split(line.strip(b" \t\r\n"))
    out = [b'"' + f.replace(b'"', b'""') + b'"' if b'"' in f else f for f in fields]
    return b"\t".join(out) + b"\n"


def prepare_text(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    encoding: str,
    *,
    whitespace: bool = False,
    max_line_bytes: int | None = None,
    line_ends: bool = False,
    block_bytes: int = 8 << 20,
) -> Prepared:
    """Copy ``src`` to ``dst`` as UTF-8, line by line, in bounded memory (one block plus one line).

    - A line that does not decode in ``encoding`` is copied as its raw bytes, so that the reader rejects that
      line alone (``bad_encoding``, with its line number) rather than the file or a mojibake of it.
    - ``whitespace``: fields separated by runs of spaces or tabs become tab-separated (quoted when they hold
      a ``"``); leading and trailing blanks are dropped.
    - ``max_line_bytes``: longer lines are left out and recorded as ``line_too_long``.
    - ``line_ends``: every line ends in one ``\\n`` (the carriage returns before it dropped: ``\\r\\r\\n``, which a
      CSV writer on Windows opened without ``newline=''`` writes, would start each next row with a line feed).
    ASCII-incompatible encodings (UTF-16/32) are transcoded whole (:func:`transcode_to_utf8`).
    """
    dst = Path(dst)
    if encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        return Prepared(str(transcode_to_utf8(src, dst, encoding)))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".part")
    removed: list[tuple[int, str, str]] = []
    plain = encoding.replace("_", "-").lower() in ("utf-8", "utf8")
    try:
        with _open_binary(str(src)) as fin, open(tmp, "wb") as fout:
            for n, line in enumerate(_line_bytes(fin, block_bytes), start=1):
                if n == 1 and encoding == "utf-8-sig" and line.startswith(codecs.BOM_UTF8):
                    line = line[len(codecs.BOM_UTF8) :]
                if max_line_bytes is not None and len(line.rstrip(b"\r\n")) > max_line_bytes:
                    removed.append((n, "line_too_long", line[:PREVIEW_CHARS].decode(encoding, "replace")))
                    continue
                if not plain:
                    try:
                        line = line.decode(encoding).encode("utf-8")
                    except UnicodeDecodeError:
                        pass  # raw bytes: invalid UTF-8, rejected by the reader as bad_encoding
                if line_ends and line.endswith(b"\n"):
                    line = line.rstrip(b"\r\n") + b"\n"
                fout.write(_ws_line(line) if whitespace else line)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Prepared(str(dst), removed)
