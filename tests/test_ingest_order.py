"""Ingest's clean table keeps the source-row order and finds duplicates across files without sorting every row
(helpers/ingest.py duplicate_rows_sql, helpers/sources.py __row; issue 19)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from helpers.ingest import ingest_campaign
from helpers.locations import campaign_paths
from helpers.params import load_params

PARAMS = """
campaign: order
title: order
timezone: UTC
period: {{start: 2024-01-01, end: 2024-01-31}}
tables:
  events:
    source: {{path: "{path}"}}
    columns: {{user_id: uid, event: ev, ts: t}}
    events: [a, b]
"""


def test_clean_rows_keep_source_order_and_duplicates_span_files(tmp_path, write_params):
    # file 1: 300 rows in a shuffled-looking order, row 5 repeated at its end; file 2 repeats file 1's row 7,
    # then 2 new rows and an unknown event; the first copy of each row is kept, in file order
    rows1 = [f"u{(i * 37) % 101},{'ab'[i % 2]},2024-01-{1 + i % 28:02d} {i % 24:02d}:00:00" for i in range(300)]
    rows2 = [rows1[7], "z1,a,2024-01-03 00:00:00", "z0,b,2024-01-02 00:00:00", "z2,c,2024-01-02 00:00:00"]
    (tmp_path / "e1.csv").write_text("uid,ev,t\n" + "\n".join(rows1 + [rows1[5]]) + "\n")
    (tmp_path / "e2.csv").write_text("uid,ev,t\n" + "\n".join(rows2) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e*.csv"), name="order"))
    rep = ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    assert rep.reasons == {"duplicate": 2, "unknown_event": 1}
    assert rep.rows_in == 305 and rep.rows_out == 302
    clean = duckdb.connect().execute(f"SELECT user_id, event, ts FROM read_parquet('{rep.path}')").df()
    want = [r.split(",") for r in rows1 + rows2[1:3]]
    assert clean["user_id"].tolist() == [w[0] for w in want]
    assert clean["ts"].tolist() == [pd.Timestamp(w[2]) for w in want]
    q = duckdb.connect().execute(f"SELECT reason, source_row FROM read_parquet('{rep.quarantine_path}')").fetchall()
    assert q == [("duplicate", 301), ("duplicate", 302), ("unknown_event", 305)]


def test_quarantine_takes_trimmed_source_values_and_work_files_go(tmp_path, write_params):
    # the staged table is narrow: the quarantine's source columns come from the raw table by row number (trimmed,
    # as read), a line the reader rejects has none but its line number; no working file is left in the cache
    lines = ["uid,ev,t", " u1 ,a,2024-01-02 10:00:00", "u2, c ,2024-01-02 11:00:00", "u3,a, not a time "]
    lines += ["u4,b,2024-01-03 09:00:00", "用户5,a,2024-01-04 10:00:00"]  # valid UTF-8: the file is judged UTF-8
    data = ("\n".join(lines[:3]) + "\n").encode() + b"u\xff\xfe,a,2024-01-02 12:00:00\n"
    data += ("\n".join(lines[3:]) + "\n").encode()
    (tmp_path / "e.csv").write_bytes(data)
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv"), name="order"))
    paths = campaign_paths("order", tmp_path / "reports")
    rep = ingest_campaign(cfg, paths, progress=False)["events"]
    assert rep.reasons == {"unknown_event": 1, "bad_encoding": 1, "bad_timestamp": 1}
    q = duckdb.connect().execute(
        f"SELECT reason, source_row, source_line, uid, ev, t FROM read_parquet('{rep.quarantine_path}')"
    )
    assert q.fetchall() == [
        ("unknown_event", 2, None, "u2", "c", "2024-01-02 11:00:00"),
        ("bad_timestamp", 3, None, "u3", "a", "not a time"),
        ("bad_encoding", None, 4, None, None, None),
    ]
    clean = duckdb.connect().execute(f"SELECT user_id FROM read_parquet('{rep.path}')").fetchall()
    assert clean == [("u1",), ("u4",), ("用户5",)]
    work = paths.cache / "ingest_work"
    assert not work.exists() or list(work.iterdir()) == []


def test_ingest_twice_on_one_connection_and_after_a_failure(tmp_path, write_params):
    from helpers.errors import IngestError
    from helpers.ingest import connect_duckdb, ingest_table

    rows = ["uid,ev,t", "u1,a,2024-01-02 10:00:00", "u1,a,2024-01-02 10:00:00", "u2,b,2024-01-05 10:00:00"]
    (tmp_path / "e.csv").write_text("\n".join(rows) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv"), name="order"))
    paths = campaign_paths("order", tmp_path / "reports")
    con = connect_duckdb(cfg, paths)
    first = ingest_table(con, cfg, "events", paths)
    second = ingest_table(con, cfg, "events", paths)  # the raw view replaces the table the first run left
    assert (first.rows_out, first.reasons) == (second.rows_out, second.reasons) == (2, {"duplicate": 1})
    assert [r[0] for r in con.execute("DESCRIBE raw_events").fetchall()][:3] == ["uid", "ev", "t"]
    bad = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv").replace("2024-01-31", "2024-01-01")))
    try:
        ingest_table(con, bad, "events", paths)  # every row out of the period: an error, the work file still goes
    except IngestError as e:
        assert "out_of_period" in str(e)
    else:
        raise AssertionError("no IngestError")
    work = paths.cache / "ingest_work"
    assert not work.exists() or list(work.iterdir()) == []


def test_a_hash_collision_never_makes_a_duplicate():
    # every row gets the same hash: only rows whose values are all equal to an earlier row's are duplicates
    from helpers.ingest import duplicate_rows_sql

    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE r AS SELECT * FROM (VALUES ('a', 'x', 1), ('b', 'x', 2), ('a', 'x', 3), ('a', NULL, 4), "
        "('a', NULL, 5), ('b', 'y', 6)) v(c1, c2, __row)"
    )
    con.execute("ALTER TABLE r ADD COLUMN __read_reason VARCHAR")
    con.execute("ALTER TABLE r ADD COLUMN __h UBIGINT DEFAULT 42")
    test = duplicate_rows_sql(con, "r", ['"c1"', '"c2"'])
    assert [r[0] for r in con.execute(f"SELECT __row FROM r WHERE {test} ORDER BY 1").fetchall()] == [3, 5]


def test_the_hash_and_the_window_compare_the_same_columns(tmp_path, write_params, monkeypatch):
    # helpers.sources.dedupe_columns is the one list of columns duplicates compare: the stored hash and the window
    # both read it. Narrowed to the user id, rows 2 and 3 (same user, other event and time) become duplicates of
    # row 1; had only one side followed, the hash or the window would tell them apart and find none
    import helpers.cleaning
    import helpers.sources

    def narrowed(cols):
        return [c for c in cols if c == "uid"]

    monkeypatch.setattr(helpers.sources, "dedupe_columns", narrowed)  # read_raw's hash
    monkeypatch.setattr(helpers.cleaning, "dedupe_columns", narrowed)  # cleaning_sql's window (imported name)
    rows = ["u1,a,2024-01-02 10:00:00", "u1,b,2024-01-03 10:00:00", " u1 ,a,2024-01-04 10:00:00"]
    rows += ["u2,a,2024-01-02 10:00:00"]
    (tmp_path / "e.csv").write_text("uid,ev,t\n" + "\n".join(rows) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv"), name="order"))
    rep = ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    assert rep.reasons == {"duplicate": 2} and rep.rows_out == 2
    q = duckdb.connect().execute(f"SELECT reason, source_row FROM read_parquet('{rep.quarantine_path}')").fetchall()
    assert q == [("duplicate", 2), ("duplicate", 3)]


@pytest.mark.parametrize("mode", ["plain", "pseudonyms", "working_file"])
def test_many_row_groups_keep_source_order(tmp_path, write_params, monkeypatch, mode):
    """500,000 rows (DuckDB stores 122,880 per row group, read by two threads) with duplicates and rejects, with
    and without the pseudonym join: the clean rows are the source rows in file order. (The staged table keeps
    the file's order since no join runs while it is written, helpers.ingest.stage_in_order; where it would not,
    the clean table is sorted, see test_clean_table_is_sorted_when_the_staged_rows_are_out_of_order.)"""
    import numpy as np

    import helpers.ingest as ingest

    n = 500_000
    i = np.arange(n)
    secs = (i * 7919) % n  # a permutation: every time unique, far from sorted
    ts = pd.Timestamp("2024-01-02") + pd.to_timedelta(secs, unit="s")
    ev = np.where(i % 97 == 0, "c", np.where(i % 2 == 0, "a", "b"))  # "c": unknown_event
    src = pd.DataFrame({"uid": [f"u{k % 5000}" for k in i], "ev": ev, "t": ts.strftime("%Y-%m-%d %H:%M:%S")})
    dup_at = i[(i % 1000 == 999)]  # each repeats the row 500 earlier: a duplicate
    src.iloc[dup_at] = src.iloc[dup_at - 500].to_numpy()
    src.to_csv(tmp_path / "big.csv", index=False)
    text = PARAMS.format(path=tmp_path / "big.csv")
    if mode == "working_file":  # the file read into the working Parquet file, as one too large for memory is
        import helpers.sources

        monkeypatch.setattr(helpers.sources, "IN_MEMORY_SHARE", 0.0)
    if mode == "pseudonyms":
        monkeypatch.setenv("UBAKIT_PSEUDONYM_KEY", "k" * 32)
        text += "privacy: {pseudonymize_user_ids: true}\n"
    cfg = load_params(write_params(text, name="order"))
    rep = ingest.ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    keep = (src["ev"] != "c") & ~src.duplicated(keep="first")
    assert rep.rows_out == int(keep.sum()) and rep.reasons["duplicate"] == int(src.duplicated().sum())
    clean = duckdb.connect().execute(f"SELECT ts FROM read_parquet('{rep.path}')").df()
    assert (clean["ts"].to_numpy() == pd.to_datetime(src.loc[keep, "t"]).to_numpy()).all()


def test_a_file_read_in_memory_or_to_the_working_file_gives_the_same_tables(tmp_path, write_params, monkeypatch):
    """A table's only CSV file is read into a table in memory when it fits (helpers.sources.IN_MEMORY_SHARE of
    DuckDB's memory limit), else into the working Parquet file (a 100M-row file): the clean table, the quarantine
    (row and line numbers, trimmed source values, rejected lines) and the counts are the same either way."""
    import helpers.sources as sources

    lines = ["uid,ev,t", " u1 ,a,2024-01-02 10:00:00", "u2, c ,2024-01-02 11:00:00", "u3,a, not a time "]
    lines += ["u4,b,2024-01-03 09:00:00", " u1 ,a,2024-01-02 10:00:00", "用户5,b,2024-01-04 11:00:00"]
    lines += [f"v{k},{'ab'[k % 2]},2024-01-{1 + k % 28:02d} 08:00:00" for k in range(30_000)]
    lines += ["u6,a,2024-01-04 10:00:00,extra", "u7,b,2024-01-05 10:00:00"]  # past the reader's sniffing sample
    (tmp_path / "e.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv"), name="order"))
    fits = sources.fits_in_memory
    used: list[bool] = []
    out = {}
    for where, share in (("memory", sources.IN_MEMORY_SHARE), ("file", 0.0)):
        monkeypatch.setattr(sources, "IN_MEMORY_SHARE", share)
        monkeypatch.setattr(sources, "fits_in_memory", lambda con, path: used.append(fits(con, path)) or used[-1])
        paths = campaign_paths("order", tmp_path / where)
        rep = ingest_campaign(cfg, paths, progress=False)["events"]
        clean = duckdb.connect().execute(f"SELECT * FROM read_parquet('{rep.path}')").df()
        q = duckdb.connect().execute(f"SELECT * FROM read_parquet('{rep.quarantine_path}')").df()
        out[where] = (rep.rows_in, rep.rows_out, rep.reasons, clean, q)
        work = paths.cache / "ingest_work"
        assert not work.exists() or list(work.iterdir()) == []
    assert used == [True, False]
    mem, file = out["memory"], out["file"]
    reasons = {"bad_csv_line": 1, "bad_timestamp": 1, "duplicate": 1, "unknown_event": 1}
    assert mem[:3] == file[:3] == (30_008, 30_004, reasons)
    assert mem[3]["user_id"].tolist()[:4] == ["u1", "u4", "用户5", "v0"] and mem[3]["user_id"].iloc[-1] == "u7"
    pd.testing.assert_frame_equal(mem[3], file[3])
    pd.testing.assert_frame_equal(mem[4], file[4])
    q = mem[4]
    assert q["source_row"].tolist()[:3] == [2, 3, 5] and q["ev"].tolist()[:2] == ["c", "a"], q  # trimmed values
    assert q["source_line"].dropna().tolist() == [30_008] and q["raw_line"].dropna().str.endswith(",extra").all()


@pytest.mark.parametrize(
    "text, size",
    [("3.7 GiB", 3.7 * 2**30), ("4GB", 4e9), ("512 MB", 512e6), ("100 KiB", 102_400), ("none", 0.0), ("", 0.0)],
)
def test_memory_limit_as_bytes(text, size):
    from helpers.sources import memory_bytes

    assert memory_bytes(text) == pytest.approx(size)


def test_what_fits_in_memory_counts_gzip_files_five_times(tmp_path):
    from helpers.sources import IN_MEMORY_SHARE, fits_in_memory, memory_bytes

    con = duckdb.connect()
    con.execute("SET memory_limit = '80MB'")
    reported = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]  # as DuckDB says it
    assert reported.endswith("MiB") and memory_bytes(reported) == pytest.approx(80e6, rel=2e-3), reported
    limit = IN_MEMORY_SHARE * memory_bytes(reported)  # a file of up to about 10 MB fits at the share of 1/8
    for name, size, fits in (("a.csv", limit, True), ("b.csv", limit + 1, False), ("c.csv.gz", limit / 5, True),
                             ("d.csv.gz", limit / 5 + 1, False)):  # fmt: skip
        (tmp_path / name).write_bytes(b"x" * int(size))
        assert fits_in_memory(con, str(tmp_path / name)) is fits, name


def _record_reads(monkeypatch) -> list[str]:
    """The reader's attempts: ``direct`` (a table's only file, in parallel straight to the working file),
    ``parallel`` (into a table) or ``sequential``, one entry per attempt that got as far as reading."""
    import helpers.sources as sources

    calls: list[str] = []
    once, direct = sources._scan_csv_once, sources._scan_csv_direct

    def spy_once(*a, parallel, **k):
        calls.append("parallel" if parallel else "sequential")
        return once(*a, parallel=parallel, **k)

    def spy_direct(*a, **k):
        calls.append("direct")
        return direct(*a, **k)

    monkeypatch.setattr(sources, "_scan_csv_once", spy_once)
    monkeypatch.setattr(sources, "_scan_csv_direct", spy_direct)
    return calls


@pytest.mark.parametrize("files", [1, 2])
def test_parallel_reader_keeps_file_order_and_line_numbers_of_rejected_lines(
    tmp_path, write_params, monkeypatch, files
):
    """800,000 rows (24 MB: DuckDB's parallel reader splits them between threads) with lines of too many fields
    scattered through them, in one file (read straight to the working file) or two (read into a table each):
    each file read in parallel once, clean rows in file order, each rejected line with its own line number and
    every row's number counting only the rows read, across files (as the sequential reader's window numbered
    them)."""
    calls = _record_reads(monkeypatch)
    n = 800_000
    bad = {100_000, 333_333, 799_998}  # a fourth field, past the sniffing sample (20,480 rows)
    rows = []
    for k in range(1, n + 1):
        t = f"2024-01-{1 + (k * 7919) % 28:02d} {(k * 31) % 24:02d}:{k % 60:02d}:{(k // 60) % 60:02d}"
        rows.append(f"user{k:07d},{'ab'[k % 2]},{t}" + (",extra" if k in bad else ""))
    cut = n if files == 1 else 500_000
    (tmp_path / "e1.csv").write_text("uid,ev,t\n" + "\n".join(rows[:cut]) + "\n")
    if files == 2:
        (tmp_path / "e2.csv").write_text("uid,ev,t\n" + "\n".join(rows[cut:]) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e*.csv"), name="order"))
    rep = ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    assert calls == (["direct"] if files == 1 else ["parallel", "parallel"])
    assert rep.rows_in == n and rep.reasons == {"bad_csv_line": 3} and rep.rows_out == n - 3
    clean = duckdb.connect().execute(f"SELECT user_id FROM read_parquet('{rep.path}')").fetchall()
    assert [u for (u,) in clean] == [f"user{k:07d}" for k in range(1, n + 1) if k not in bad]
    q = (
        duckdb.connect()
        .execute(f"SELECT reason, source_file, source_line, raw_line FROM read_parquet('{rep.quarantine_path}')")
        .fetchall()
    )
    want = [
        (
            "bad_csv_line",
            str(tmp_path / ("e1.csv" if k <= cut else "e2.csv")),
            k + 1 - (0 if k <= cut else cut),
            rows[k - 1],
        )
        for k in sorted(bad)
    ]
    assert sorted(q, key=lambda r: (r[1], r[2])) == want


@pytest.mark.parametrize(
    "case, files, want",
    [
        ("quoted_newline", 1, ["direct", "sequential"]),
        ("file_row_number_column", 1, ["direct", "sequential"]),  # the name is seen before a row is read
        ("rowid_column", 1, ["direct"]),
        ("rowid_column", 2, ["parallel", "sequential", "parallel", "sequential"]),
        ("quoted_newline", 2, ["parallel", "sequential", "parallel", "sequential"]),
    ],
)
def test_sequential_reader_takes_over_where_the_parallel_one_cannot(
    tmp_path, write_params, monkeypatch, case, files, want
):
    """DuckDB's parallel reader refuses quoted newlines when short rows are padded; a column named ``rowid``
    would hide the row id that numbers a table's rows, one named ``file_row_number`` the position that numbers
    the working file's: the sequential reader reads those files, with the same result."""
    calls = _record_reads(monkeypatch)
    last = {"rowid_column": "rowid", "file_row_number_column": "file_row_number"}.get(case, "note")
    rows = [
        'u1,a,2024-01-02 10:00:00,"two\nlines"' if case == "quoted_newline" else "u1,a,2024-01-02 10:00:00,7",
        "u2,b,2024-01-03 10:00:00",  # short: padded with NULL
        "u3,a,2024-01-04 10:00:00,x",
    ]
    for k in range(files):
        (tmp_path / f"e{k}.csv").write_text(f"uid,ev,t,{last}\n" + "\n".join(rows) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e*.csv"), name="order"))
    rep = ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    assert calls == want
    reasons = {"duplicate": 3} if files == 2 else {}
    assert rep.rows_in == 3 * files and rep.rows_out == 3 and rep.reasons == reasons
    q = duckdb.connect().execute(f"SELECT source_row FROM read_parquet('{rep.quarantine_path}')").fetchall()
    assert q == [(4,), (5,), (6,)][: 3 * (files - 1)]  # the second file's rows, numbered after the first's
    clean = duckdb.connect().execute(f"SELECT user_id FROM read_parquet('{rep.path}')").fetchall()
    assert clean == [("u1",), ("u2",), ("u3",)]


def test_staged_rows_keep_file_order_so_the_clean_table_is_not_sorted(tmp_path, write_params, monkeypatch):
    """The default placeholders (six constants: DuckDB would turn the list into a join) and duplicates (marked by
    an update, not a join in the query): the staged table is in the raw view's order, so the clean table is
    written unsorted; a repeated row with a cleaning reason of its own is a duplicate the second time."""
    import helpers.ingest as ingest

    seen: list[bool] = []
    real = ingest.in_row_order
    monkeypatch.setattr(ingest, "in_row_order", lambda con, staged: seen.append(real(con, staged)) or seen[-1])
    n = 300_000
    rows = [f"u{k % 977},{'ab'[k % 2]},2024-01-{1 + k % 28:02d} {k % 24:02d}:{k % 60:02d}:00" for k in range(n)]
    rows[1000] = rows[10] = "u1,c,2024-01-03 00:00:00"  # unknown event, then the same row again: a duplicate
    rows[200_000] = rows[5]  # a duplicate far from its first copy
    rows[250_000] = "NULL,a,2024-01-03 00:00:00"  # a placeholder: missing user id
    (tmp_path / "e.csv").write_text("uid,ev,t\n" + "\n".join(rows) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv"), name="order"))
    rep = ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    assert seen == [True]
    dup = pd.Series(rows).duplicated().tolist()
    assert rep.reasons == {"duplicate": sum(dup), "unknown_event": 1, "missing_user_id": 1}
    q = duckdb.connect().execute(f"SELECT reason, source_row FROM read_parquet('{rep.quarantine_path}')").fetchall()
    assert {("unknown_event", 11), ("duplicate", 1001), ("duplicate", 200_001), ("missing_user_id", 250_001)} <= set(q)
    keep = [r for k, r in enumerate(rows) if not dup[k] and ",c," not in r and "NULL" not in r]
    clean = duckdb.connect().execute(f"SELECT user_id FROM read_parquet('{rep.path}')").fetchall()
    assert [u for (u,) in clean] == [r.split(",")[0] for r in keep]


def test_clean_table_is_sorted_when_the_staged_rows_are_out_of_order(tmp_path, write_params, monkeypatch):
    """Where the staged rows come out of order (here shuffled on purpose), the clean table is still written in
    the file's order: by ``__row``."""
    import helpers.ingest as ingest

    def shuffled(con, staged, select, dup):
        real_stage(con, staged, select, dup)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {staged} AS SELECT * FROM {staged} ORDER BY hash(__row)")

    real_stage = ingest.stage_in_order
    monkeypatch.setattr(ingest, "stage_in_order", shuffled)
    seen: list[bool] = []
    real = ingest.in_row_order
    monkeypatch.setattr(ingest, "in_row_order", lambda con, staged: seen.append(real(con, staged)) or seen[-1])
    rows = [f"u{k},a,2024-01-{1 + k % 28:02d} 10:00:00" for k in range(5000)]
    (tmp_path / "e.csv").write_text("uid,ev,t\n" + "\n".join(rows) + "\n")
    cfg = load_params(write_params(PARAMS.format(path=tmp_path / "e.csv"), name="order"))
    rep = ingest_campaign(cfg, campaign_paths("order", tmp_path / "reports"), progress=False)["events"]
    assert seen == [False]
    clean = duckdb.connect().execute(f"SELECT user_id FROM read_parquet('{rep.path}')").fetchall()
    assert [u for (u,) in clean] == [f"u{k}" for k in range(5000)]
