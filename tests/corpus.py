"""A corpus of real-world input files, generated (no binary file is committed): each case is a file the way
real systems export it (quoted newlines, long fields, stray bytes of another encoding, whitespace-aligned
text, no header, JSON lines with mixed types), with its source options and the expected outcome of ingest:
clean rows, quarantine reasons per count, and the raw line numbers of the lines the reader rejected.

Run ``python -m tests.corpus OUTDIR`` to write every case's files into OUTDIR (one folder per case);
``tests/test_real_files.py`` ingests each case and checks it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20


@dataclass
class Case:
    """One corpus case. ``clean`` lists the expected clean rows as (user_id, event, ts) in order (or only the
    first ones when ``clean_count`` is given); ``reasons`` the quarantine count per reason; ``lines`` the raw
    line numbers of the reader's rejects per reason; ``extra`` expected values of other clean columns."""

    name: str
    files: dict[str, bytes]
    source: dict
    columns: dict[str, str]
    clean: list[tuple[str, str, str]]
    reasons: dict[str, int] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)
    clean_count: int | None = None
    encoding: str | None = None
    extra: dict[str, list] = field(default_factory=dict)
    note: str = ""
    #: message keys of the notes the ingest page shows for this file (``TableReport.notes``)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_out(self) -> int:
        return self.clean_count if self.clean_count is not None else len(self.clean)


def _ts(i: int) -> str:
    """A distinct timestamp in January 2024 for row ``i``."""
    return f"2024-01-{1 + i // 86400 % 28:02d} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"


COLS = {"user_id": "user", "event": "event", "ts": "ts"}


def _quoted_newline() -> Case:
    text = (
        "user,event,ts,note\n"
        'u1,view,2024-01-02 10:00:00,"first line\nsecond line"\n'
        "u2,view,2024-01-02 11:00:00\n"  # a short row: padded
        'u3,buy,2024-01-03 09:00:00,"said ""hi""\r\nthen left"\n'
    )
    return Case(
        "csv_quoted_newline",
        {"events.csv": text.encode()},
        {},
        COLS,
        [
            ("u1", "view", "2024-01-02 10:00:00"),
            ("u2", "view", "2024-01-02 11:00:00"),
            ("u3", "buy", "2024-01-03 09:00:00"),
        ],
        extra={"note": ["first line\nsecond line", None, 'said "hi"\r\nthen left']},
        note="a newline inside a quoted field; a short row padded with NULLs",
    )


def _long_field(size: int, name: str) -> Case:
    body = "x" * size
    text = f"user,event,ts,review\nu1,view,2024-01-02 10:00:00,{body}\nu2,view,2024-01-02 11:00:00,short\n"
    return Case(
        name,
        {"events.csv": text.encode()},
        {},
        COLS,
        [("u1", "view", "2024-01-02 10:00:00"), ("u2", "view", "2024-01-02 11:00:00")],
        extra={"review": [body, "short"]},
        note=f"a field of {size:,} bytes (DuckDB's default limit is 2 MB)",
    )


def _line_too_long_early() -> Case:
    text = (
        "user,event,ts,review\n"
        "u1,view,2024-01-02 10:00:00,ok\n"
        f"u2,view,2024-01-02 11:00:00,{'y' * 5000}\n"  # line 3, where DuckDB sniffs the dialect
        "u3,view,2024-01-02 12:00:00,ok\n"
    )
    return Case(
        "csv_line_too_long_early",
        {"events.csv": text.encode()},
        {"max_line_size": 1024},
        COLS,
        [("u1", "view", "2024-01-02 10:00:00"), ("u3", "view", "2024-01-02 12:00:00")],
        reasons={"line_too_long": 1},
        lines={"line_too_long": [3]},
    )


def _line_too_long_late() -> Case:
    n = 25000
    rows = [f"u{i},view,{_ts(i)},ok" for i in range(n)]
    rows.insert(n - 5, f"ulong,view,{_ts(n)},{'y' * 5000}")  # raw line n - 5 + 2 (header + 1-based)
    text = "user,event,ts,review\n" + "\n".join(rows) + "\n"
    return Case(
        "csv_line_too_long_late",
        {"events.csv": text.encode()},
        {"max_line_size": 1024},
        COLS,
        [("u0", "view", _ts(0))],
        clean_count=n,
        reasons={"line_too_long": 1},
        lines={"line_too_long": [n - 3]},
    )


def _bad_csv_line() -> Case:
    n = 25000  # past DuckDB's sniffing sample (20480 rows), where a wider row would widen every row
    rows = [f"u{i},view,{_ts(i)}" for i in range(n)]
    rows.append(f"uwide,view,{_ts(n)},x,y,z")
    text = "user,event,ts\n" + "\n".join(rows) + "\n"
    return Case(
        "csv_bad_csv_line",
        {"events.csv": text.encode()},
        {},
        COLS,
        [("u0", "view", _ts(0))],
        clean_count=n,
        reasons={"bad_csv_line": 1},
        lines={"bad_csv_line": [n + 2]},
    )


def _wide_row_in_sample() -> Case:
    """A row with a delimiter inside an unquoted value among the first rows (an item name "运动鞋,42"): with
    short rows padded, DuckDB took its 5 fields as the file's width, so every row got a column ``column4`` and
    that row kept its values shifted (ingest said 100 % clean). Rows whose field count differs from the header's
    are now bad_csv_line, as they are past the sample."""
    rows = [f"u{i},view,{_ts(i)},商品{i}" for i in range(40)]
    rows[2] = f"u2,view,{_ts(2)},运动鞋,42"  # raw line 4
    rows[30] = f"u30,view,{_ts(30)}"  # a short row: bad_csv_line too, in such a file (raw line 32)
    text = "user,event,ts,item_name\n" + "\n".join(rows) + "\n"
    keep = [i for i in range(40) if i not in (2, 30)]
    return Case(
        "csv_wide_row_in_sample",
        {"events.csv": text.encode()},
        {},
        {**COLS, "item_name": "item_name"},
        [(f"u{i}", "view", _ts(i)) for i in keep],
        reasons={"bad_csv_line": 2},
        lines={"bad_csv_line": [4, 32]},
        extra={"item_name": [f"商品{i}" for i in keep]},
        note="a row wider than the header among the rows DuckDB samples",
        notes=["ingest.note_wide_rows"],
    )


def _cr_cr_lf() -> Case:
    """Lines ending in CR CR LF (Python's csv.writer on Windows, file opened without newline=''): DuckDB split at
    the first CR, and every row after the first started with the LF, so user "u1" read as "\\nu1"."""
    rows = [f"u{i},view,{_ts(i)}" for i in range(5)]
    text = "user,event,ts\r\r\n" + "\r\r\n".join(rows) + "\r\r\n"
    return Case(
        "csv_cr_cr_lf",
        {"events.csv": text.encode()},
        {},
        COLS,
        [(f"u{i}", "view", _ts(i)) for i in range(5)],
        note="every line ends in CR CR LF",
        notes=["ingest.note_line_ends"],
    )


def _duplicate_header() -> Case:
    """A header naming ``ts`` twice: DuckDB reads the second as ``ts_1`` and a mapping to ``ts`` takes the first,
    without a word before; a note now names the column and where it repeats."""
    rows = [f"u{i},view,{_ts(i)},1999-01-01 00:00:00" for i in range(3)]
    return Case(
        "csv_duplicate_header",
        {"events.csv": ("user,event,ts,ts\n" + "\n".join(rows) + "\n").encode()},
        {},
        COLS,
        [(f"u{i}", "view", _ts(i)) for i in range(3)],
        note="a column named twice in the header",
        notes=["ingest.note_duplicate_header"],
    )


def _stray_gbk_line() -> Case:
    good = ["用户,事件,时间", "张三,浏览,2024-01-02 10:00:00", "李四,购买,2024-01-02 11:00:00"]
    data = ("\n".join(good) + "\n").encode("utf-8") + "王五,浏览,2024-01-02 12:00:00\n".encode("gbk")
    data += "赵六,浏览,2024-01-02 13:00:00\n".encode()
    return Case(
        "csv_stray_gbk_line",
        {"events.csv": data},
        {},
        {"user_id": "用户", "event": "事件", "ts": "时间"},
        [
            ("张三", "浏览", "2024-01-02 10:00:00"),
            ("李四", "购买", "2024-01-02 11:00:00"),
            ("赵六", "浏览", "2024-01-02 13:00:00"),
        ],
        reasons={"bad_encoding": 1},
        lines={"bad_encoding": [4]},
        encoding="utf-8",
        note="one GBK line in a UTF-8 file: the file stays UTF-8, the line is quarantined",
    )


def _filler_rows(n_bytes: int, prefix: str = "u") -> list[str]:
    rows, size, i = [], 0, 0
    while size < n_bytes:
        r = f"{prefix}{i},view,{_ts(i)}"
        rows.append(r)
        size += len(r.encode()) + 1
        i += 1
    return rows


def _stray_byte_after_4mib() -> Case:
    rows = ["用户甲,view,2024-01-01 00:00:00"] + _filler_rows(5 * MiB)
    data = ("user,event,ts\n" + "\n".join(rows) + "\n").encode() + b"ubad\xff,view,2024-01-30 00:00:00\n"
    return Case(
        "csv_stray_byte_after_4mib",
        {"events.csv": data},
        {},
        COLS,
        [("用户甲", "view", "2024-01-01 00:00:00"), ("u0", "view", _ts(0))],
        clean_count=len(rows),
        reasons={"bad_encoding": 1},
        lines={"bad_encoding": [len(rows) + 2]},
        encoding="utf-8",
    )


def _gbk_after_4mib() -> Case:
    rows = _filler_rows(5 * MiB)
    data = ("user,event,ts\n" + "\n".join(rows) + "\n").encode() + "王五,浏览,2024-01-30 00:00:00\n".encode("gbk")
    return Case(
        "csv_gbk_after_4mib",
        {"events.csv": data},
        {},
        COLS,
        [("u0", "view", _ts(0))],
        clean_count=len(rows) + 1,
        encoding="gb18030",
        note="the first 4 MiB are ASCII: detection reads on and finds GBK",
    )


def _gbk_with_bad_line() -> Case:
    data = "用户,事件,时间\n张三,浏览,2024-01-02 10:00:00\n".encode("gbk") + b"\xff\xfe,x,2024-01-02 10:00:00\n"
    data += "李四,购买,2024-01-02 11:00:00\n".encode("gbk")
    return Case(
        "csv_gbk_with_bad_line",
        {"events.csv": data},
        {},
        {"user_id": "用户", "event": "事件", "ts": "时间"},
        [("张三", "浏览", "2024-01-02 10:00:00"), ("李四", "购买", "2024-01-02 11:00:00")],
        reasons={"bad_encoding": 1},
        lines={"bad_encoding": [3]},
        encoding="gb18030",
    )


def _whitespace() -> Case:
    text = (
        "user      event   ts                    amount\n"
        "u1        view    2024-01-02T10:00:00   12.50\n"
        "u2\tbuy\t\t2024-01-03T09:00:00\t99\n"
        "  u3      buy     2024-01-04T08:00:00   7\n"
    )
    return Case(
        "txt_whitespace_aligned",
        {"events.txt": text.encode()},
        {"delimiter": "whitespace"},
        {**COLS, "amount": "amount"},
        [
            ("u1", "view", "2024-01-02 10:00:00"),
            ("u2", "buy", "2024-01-03 09:00:00"),
            ("u3", "buy", "2024-01-04 08:00:00"),
        ],
        extra={"amount": [12.5, 99.0, 7.0]},
    )


def _no_header() -> Case:
    text = "u1,view,2024-01-02 10:00:00,a\nu2,buy,2024-01-03 09:00:00,b\n"
    return Case(
        "csv_no_header",
        {"events.csv": text.encode()},
        {"header": False},
        {"user_id": "column0", "event": "column1", "ts": "column2"},
        [("u1", "view", "2024-01-02 10:00:00"), ("u2", "buy", "2024-01-03 09:00:00")],
        extra={"column3": ["a", "b"]},
    )


def _jsonl_mixed() -> Case:
    lines = [
        {"uid": "u000", "ev": "view", "ts": "2024-01-02 10:00:00", "price": "12.5", "props": {"a": [1, 2]}},
        {"uid": 7, "ev": "buy", "ts": "2024-01-02 11:00:00", "price": 3, "props": None},
        {"uid": "u000", "ev": "buy", "ts": "2024-01-02 12:00:00", "price": "8", "props": "plain", "late": True},
    ]
    data = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in lines[:2])
    data += b"\n"  # a blank line (line 3): not a record
    data += b'{"uid": "broken", \n'  # line 4: not JSON
    data += b"[1, 2]\n"  # line 5: JSON, but not an object
    data += b'{"uid": "u\xff", "ev": "view", "ts": "2024-01-02 13:00:00"}\n'  # line 6: not UTF-8
    data += json.dumps(lines[2]).encode() + b"\n"
    return Case(
        "jsonl_mixed_types",
        {"events.jsonl": data},
        {},
        {"user_id": "uid", "event": "ev", "ts": "ts", "amount": "price"},
        [
            ("u000", "view", "2024-01-02 10:00:00"),
            ("7", "buy", "2024-01-02 11:00:00"),
            ("u000", "buy", "2024-01-02 12:00:00"),
        ],
        reasons={"bad_json_line": 2, "bad_encoding": 1},
        lines={"bad_json_line": [4, 5], "bad_encoding": [6]},
        extra={"amount": [12.5, 3.0, 8.0], "props": ['{"a":[1,2]}', None, "plain"], "late": [None, None, "true"]},
        note="ids sometimes strings and sometimes numbers; prices as strings; a nested object",
    )


def cases(*, big: bool = True) -> list[Case]:
    """Every corpus case; ``big=False`` leaves out the one with a 64 MB field."""
    out = [
        _quoted_newline(),
        _long_field(3 * MiB, "csv_field_3mb"),
        _line_too_long_early(),
        _line_too_long_late(),
        _bad_csv_line(),
        _wide_row_in_sample(),
        _cr_cr_lf(),
        _duplicate_header(),
        _stray_gbk_line(),
        _stray_byte_after_4mib(),
        _gbk_after_4mib(),
        _gbk_with_bad_line(),
        _whitespace(),
        _no_header(),
        _jsonl_mixed(),
    ]
    if big:
        out.append(_long_field(64_000_000, "csv_field_64mb"))
    return out


def write_case(case: Case, folder: Path) -> Path:
    """Write ``case``'s files into ``folder``; return the path of its (only) file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths[0]


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for c in cases():
        print(write_case(c, root / c.name))
