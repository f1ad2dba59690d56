"""CPU threads for scikit-learn's OpenMP/BLAS code.

On small data (a few thousand users), KMeans and gradient boosting spend more time spinning OpenMP threads
than computing, and when two notebooks run side by side (``--jobs 2``) or DuckDB is busy, the threads fight
for the cores: KMeans for k = 2..8 on 2,000 users took 36 s on a loaded 2-core machine with default threads
and 0.25 s with one thread. :func:`fit_threads` picks one thread for small inputs and leaves large ones alone.
"""

from __future__ import annotations

import contextlib

__all__ = ["fit_threads", "SMALL_CELLS"]

SMALL_CELLS = 2_000_000  # rows x columns below which one thread is faster than several


@contextlib.contextmanager
def fit_threads(n_rows: int, n_cols: int = 1):
    """Context manager: limit OpenMP/BLAS to one thread while fitting on a small matrix (``n_rows * n_cols``
    below :data:`SMALL_CELLS`); no limit otherwise."""
    if n_rows * max(1, n_cols) >= SMALL_CELLS:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
