"""The event-level engine: Ibis expressions, executed by DuckDB (default, embedded) or PySpark.

Analysis helpers take and return Ibis tables for event-level work, so the same code runs on one
laptop (DuckDB, out of core) and on a Spark cluster (``engine: spark``); only small results are pulled
into pandas for tables and charts. See README, "Architecture".
"""

from __future__ import annotations

import re
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from .errors import ZonedTimesError
from .locations import CampaignPaths
from .params import Campaign

__all__ = [
    "connect",
    "spark_session",
    "read_table",
    "clean_table_location",
    "is_remote",
    "as_table",
    "first_day",
    "local_times",
    "materialize",
    "duckdb_backend",
    "on_duckdb",
    "to_pandas",
    "MONEY",
    "money_sum",
    "money_sum_sql",
    "money_total",
]

#: money is summed as this decimal type (in SQL and as an Ibis type): exact to 6 places, so every engine and every
#: order of additions gives the same sum (a float sum's last bits depend on that order). RFM's M, the feature
#: ``spend``, products' GMV, trends' gmv, experiments' revenue and CLV's amounts
MONEY_PLACES = 6
MONEY = f"decimal(38, {MONEY_PLACES})"


def money_sum(col, where=None):
    """The exact sum of an amount column (Ibis, any engine), as a float: summed as :data:`MONEY`."""
    return col.cast("float64").cast(MONEY).sum(where=where).cast("float64")


def money_sum_sql(expr: str) -> str:
    """:func:`money_sum` in DuckDB SQL, for the fast paths: ``expr`` a numeric SQL expression."""
    return f"CAST(sum(CAST({expr} AS {MONEY})) AS DOUBLE)"


def money_total(amounts: pd.Series, keys: pd.Series) -> pd.Series:
    """The exact sum per key of money ``amounts`` that are already exact to :data:`MONEY_PLACES` places (e.g. a
    per-day :func:`money_sum`), in pandas, whatever the order of the rows: added as whole millionths in integers.
    Where an amount is too large to hold its millionths exactly (2**52 of them, about 4.5e9) or the total could
    overflow, the amounts are added as floats, in the rows' order."""
    scale = 10.0**MONEY_PLACES
    micro = amounts.to_numpy(dtype=float) * scale
    if len(micro) and not (
        np.isfinite(micro).all() and np.abs(micro).max() < 2.0**52 and np.abs(micro).sum() < 2.0**62
    ):
        return amounts.groupby(keys).sum()
    whole = pd.Series(np.rint(micro).astype(np.int64), index=amounts.index)
    return whole.groupby(keys).sum() / scale


def connect(cfg: Campaign | None = None, paths: CampaignPaths | None = None):
    """An Ibis backend for the campaign's ``engine``.

    DuckDB gets the campaign memory limit and spills to ``<campaign>/.cache/duckdb_spill``.
    ``spark`` uses the active SparkSession or builds one from the usual Spark configuration
    (``SPARK_HOME``/``spark-defaults.conf``/``PYSPARK_SUBMIT_ARGS``), local mode when nothing is set; either
    way it sets ``spark.sql.session.timeZone=UTC`` and ``spark.sql.parquet.inferTimestampNTZ.enabled=true``
    on the session (both runtime settings; README, "Spark").
    """
    engine = cfg.engine if cfg is not None else "duckdb"
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        if cfg is not None:
            con.raw_sql(f"SET memory_limit = '{cfg.ingest.memory_limit}'")
        if paths is not None:
            spill = paths.cache / "duckdb_spill"
            spill.mkdir(parents=True, exist_ok=True)
            con.raw_sql(f"SET temp_directory = '{spill}'")
        return con
    if engine == "spark":
        # Naive campaign-local timestamps stay naive: ingest's Parquet ``ts`` (isAdjustedToUTC=false) is read
        # as TIMESTAMP_NTZ, and the session time zone is UTC (ibis.pyspark.connect sets it too) so that the
        # casts Ibis adds for epoch seconds and timestamp literals (to Spark's zoned TIMESTAMP) shift nothing;
        # in a DST zone an epoch-second difference across the change would be an hour off.
        return ibis.pyspark.connect(spark_session(cfg))
    raise ValueError(f"engine: unknown engine {engine!r} (duckdb or spark)")


def spark_session(cfg: Campaign | None = None):
    """The SparkSession of ``engine: spark``: the active one, else one built with the campaign's ``spark.master``
    and ``spark.conf`` (helpers/sections_spark.py) over the usual Spark configuration; always with
    ``spark.sql.session.timeZone=UTC`` and ``spark.sql.parquet.inferTimestampNTZ.enabled=true`` (see connect)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RuntimeError("engine: spark needs PySpark: pip install 'ubakit[spark]'") from None
    builder = SparkSession.builder.appName("ubakit")
    if cfg is not None and cfg.spark.master and SparkSession.getActiveSession() is None:
        builder = builder.master(cfg.spark.master)
    # a run's console and a report page are for people: no stage progress bars and no WARN lines (the planner's
    # "No Partition Defined for Window operation" reads like a failure); spark.conf can set either back
    conf = {"spark.ui.showConsoleProgress": "false", "spark.log.level": "ERROR"}
    conf.update(cfg.spark.conf if cfg is not None else {})
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
    return session


def clean_table_location(paths: CampaignPaths, name: str, clean_data: str | None = None) -> str:
    """Where the clean table ``name`` is read from: ``<clean_data>/<name>.parquet`` when the campaign sets
    ``clean_data`` (a folder, ``file://`` or an object-storage URI such as ``s3a://``), else ingest's
    output ``reports/<campaign>/data/<name>.parquet``."""
    if not clean_data:
        return str(paths.table(name))
    base = clean_data.removeprefix("file://") if clean_data.startswith("file://") else clean_data
    if not is_remote(base):
        from .locations import project_root

        local = Path(base).expanduser()
        base = str(local if local.is_absolute() else project_root() / local)
    return f"{base.rstrip('/')}/{name}.parquet"


def is_remote(location: str) -> bool:
    """True for URIs with a scheme other than ``file`` (``s3a://``, ``s3://``, ``gs://``, ``hdfs://``, ...)."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", location)) and not location.startswith("file://")


def read_table(con, paths: CampaignPaths, name: str, clean_data: str | None = None):
    """The clean canonical table ``name`` of the campaign as an Ibis table (lazy; nothing is loaded).

    Local files are checked first (a clear error says to run ingest or fix ``clean_data``); remote URIs
    are handed to the engine as they are."""
    loc = clean_table_location(paths, name, clean_data)
    if not is_remote(loc) and not Path(loc).exists():
        fix = (
            f"check clean_data ({clean_data}) in the params: it must hold {name}.parquet"
            if clean_data
            else "run the ingest notebook first (python -m helpers run params/<campaign>.yaml --only ingest)"
        )
        raise FileNotFoundError(f"{loc} does not exist: {fix}")
    return con.read_parquet(loc, table_name=f"{name}_clean")


def as_table(data):
    """An Ibis table from an Ibis table (returned as is) or a pandas DataFrame (wrapped as a memtable).

    Analysis helpers call this first, so they accept both the lazy clean tables of a campaign
    (``ctx.table("events")``) and small hand-made pandas frames in tests and notebooks. A frame's times must be
    campaign-local without a zone, as ingest writes them: a zoned column raises
    :class:`helpers.errors.ZonedTimesError`, which says how to convert it.
    """
    import pandas as pd

    if isinstance(data, (ibis.expr.types.Table, pd.DataFrame)):
        zoned = _zoned_columns(data)
        if zoned:  # the first such column, named with its zone
            raise ZonedTimesError(*next(iter(zoned.items())))
        return data if isinstance(data, ibis.expr.types.Table) else ibis.memtable(data)
    raise TypeError(f"expected an Ibis table or a pandas DataFrame, got {type(data).__name__}")


def first_day(events, ts_col: str = "ts"):
    """The day (a midnight ``pd.Timestamp``) of the earliest ``ts_col`` in ``events`` (an Ibis table or a pandas
    frame), or None for no rows: the data's first day, which retention's partial first period and trends' year
    earlier window both start from."""
    first = as_table(events)[ts_col].min().to_pandas()
    return None if first is None or pd.isna(first) else pd.Timestamp(first).normalize()


def _zoned_columns(data) -> dict[str, str]:
    """The columns of ``data`` (an Ibis table or a pandas frame) holding times with a time zone, with their zone.

    Their dates and hours would follow the engine's session zone (UTC), not the campaign's. An Ibis table knows the
    zone of a DuckDB ``TIMESTAMP WITH TIME ZONE`` column (read from a zoned Parquet or Arrow column, say); Spark's
    own ``TIMESTAMP`` reaches Ibis without one (README, "Spark"), so on Spark only ingest's clean tables are
    safe to read directly."""
    if isinstance(data, pd.DataFrame):
        return {str(c): str(data[c].dtype.tz) for c in data.columns if isinstance(data[c].dtype, pd.DatetimeTZDtype)}
    return {str(c): str(d.timezone) for c, d in data.schema().items() if d.is_timestamp() and d.timezone is not None}


def local_times(data, zone: str):
    """``data`` (an Ibis table or a pandas frame) with every zoned time column turned into local time in ``zone``
    (an IANA name, the campaign's ``timezone``) without a zone, the times the analyses compute on.

    Other columns are unchanged; a table without zoned columns is returned as it is. The fix that
    :class:`helpers.errors.ZonedTimesError` shows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"local_times: unknown time zone {zone!r}: give an IANA name, e.g. 'Asia/Shanghai'") from None
    zoned = _zoned_columns(data)
    if not zoned:
        return data
    if isinstance(data, pd.DataFrame):
        return data.assign(**{c: data[c].dt.tz_convert(zone).dt.tz_localize(None) for c in zoned})
    return data.mutate(**{c: _local_time(zone, data[c]) for c in zoned})


@ibis.udf.scalar.builtin(name="timezone")
def _local_time(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp(scale=6):  # type: ignore[valid-type]
    """DuckDB's ``timezone(zone, instant)``: the instant's wall-clock time in ``zone``, without a zone."""


def materialize(table):
    """``table`` computed once and held by the engine, for loops that build on their own previous result.

    DuckDB: a temporary table (Ibis ``.cache()``). Spark: a *local checkpoint* (computed now, kept in the
    executors' block stores, memory then disk), registered as a temporary view. A checkpoint cuts the lineage:
    the next round's plan starts from the stored rows, not from every earlier round's plan. A Spark
    ``cache()`` keeps the whole plan, and a loop of joins over cached tables (the funnel's attempt chain,
    :func:`helpers.attempts._chain_attempts`) then grows a plan whose printing alone exhausts the driver's
    memory. Backends without either are returned unchanged.
    """
    backend = table._find_backend(use_default=True)  # in-memory tables: the default backend (DuckDB)
    if getattr(backend, "name", "") == "pyspark":
        backend._run_pre_execute_hooks(table)
        df = backend._session.sql(backend.compile(table)).localCheckpoint(eager=True)
        name = ibis.util.gen_name("ubakit_checkpoint")
        df.createOrReplaceTempView(name)
        return backend.table(name)
    return table.cache() if hasattr(table, "cache") else table


# ------------------------------------------------------------------------------ DuckDB fast paths
def duckdb_backend(t):
    """The DuckDB backend the Ibis table ``t`` runs on, or None (another engine, or an unbound expression).

    An in-memory table (a pandas frame made a memtable) runs on Ibis's default backend, DuckDB. The engine-specific
    fast paths (``helpers/*_fast.py``) run only where this is not None; each is tested equal to its portable path.
    """
    try:
        be = t._find_backend(use_default=True)
    except Exception:  # an unbound expression or tables on several backends: the portable path
        return None
    return be if getattr(be, "name", "") == "duckdb" else None


def on_duckdb(t) -> bool:
    """Whether ``t`` (an Ibis table or a pandas frame, which Ibis runs on DuckDB) runs on DuckDB."""
    import pandas as pd

    return isinstance(t, pd.DataFrame) or duckdb_backend(t) is not None


def _arrow_same(dtype) -> bool:
    """Whether pyarrow's pandas conversion of an engine column of Ibis type ``dtype`` gives what Ibis's gives:
    numbers, booleans, text and naive timestamps (dates, decimals, time zones and nested types: Ibis's own)."""
    if dtype.is_timestamp():
        return dtype.timezone is None
    return dtype.is_integer() or dtype.is_floating() or dtype.is_boolean() or dtype.is_string()


def to_pandas(t):
    """The pandas frame of the Ibis table ``t``, the frame Ibis's ``to_pandas()`` gives (tests/test_engine.py).

    On DuckDB, when every column is a number, boolean, text or naive timestamp, the result goes through Arrow's
    own conversion: Ibis's turns every column that holds a null into Python objects before converting it back
    (0.1-0.25 s per 10M-event report pull). Other engines and other column types: Ibis's ``to_pandas()``."""
    if duckdb_backend(t) is not None and all(_arrow_same(d) for d in t.schema().types):
        return t.to_pyarrow().to_pandas()
    return t.to_pandas()
