"""Ingest's clean table keeps the source-row order and finds duplicates across files without sorting every row
(helpers/ingest.py duplicate_rows_sql, helpers/sources.py __row; issue 19)."""

from __future__ import annotations

import duckdb
import pandas as pd

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
