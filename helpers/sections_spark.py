"""The ``spark:`` section of the campaign params: where ``engine: spark`` runs (README, "Running on a Spark
cluster")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SparkParams"]


class SparkParams(BaseModel):
    """How the kit gets its SparkSession when ``engine: spark`` (``helpers.engine.spark_session``).

    Nothing set (the default): the active session, else one built from the usual Spark configuration
    (``spark-submit`` options, ``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``), local mode when nothing is set.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    master: str | None = Field(
        None,
        description="Spark master URL: spark://host:7077 (standalone), yarn, k8s://https://host:443, local[4]. "
        "Unset: spark-submit's --master or Spark's own default.",
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark settings for the session (e.g. spark.executor.memory: 4g, "
        "spark.hadoop.fs.s3a.endpoint: ...); keep credentials out of params (use the environment or spark-defaults).",
    )

    @field_validator("master")
    @classmethod
    def _master(cls, v: str | None) -> str | None:
        if v is None:
            return v
        ok = v.startswith(("spark://", "k8s://", "local", "mesos://")) or v == "yarn"
        if not ok:
            raise ValueError(
                f"spark.master: {v!r} is not a Spark master URL; use spark://host:port, yarn, k8s://https://host:port "
                "or local[N]"
            )
        return v

    @field_validator("conf", mode="before")
    @classmethod
    def _conf(cls, v):
        if isinstance(v, dict):
            return {str(k): str(x).lower() if isinstance(x, bool) else str(x) for k, x in v.items()}
        return v
