"""The batch runner's processes: the campaign lock, the worker processes and the Jupyter kernels they start.

- :class:`CampaignLock`: ``<campaign>/.state/run.lock``, so that two runs of one campaign never write the same
  files at once; a lock left by a run that died is taken over.
- Kernels are started through :func:`tracked_kernel_manager`, which records each one (this process, and a
  file per kernel under ``.state/kernels/`` for the runner). On SIGINT/SIGTERM the runner ends its workers,
  each worker ends its kernel's whole process group, and the runner sweeps what is left: nothing keeps running.
- :func:`kernel_config`: the kernel's own log says "running over TCP without encryption" on every start and
  "KeyboardInterrupt caught in kernel" on many shutdowns (jupyter_client interrupts a kernel before it shuts
  it down). Both are routine and read like failures; a logging filter on ipykernel's console handler drops
  exactly these two messages, and every other kernel log line still reaches the terminal.
- A kernel's standard error reaches the terminal through :func:`forward_stderr`, which leaves out the lines a
  Spark driver writes on every start (:data:`JVM_ROUTINE`: its log4j profile, the loopback address, the native
  Hadoop library, ...): nine lines per notebook of an ``engine: spark`` run, all routine, that read like failures.
- Kernels talk to their worker over Unix sockets (ZeroMQ ``ipc``), each kernel under its own name in a private
  folder (:func:`kernel_ipc_path`), where the operating system allows it. Over TCP, jupyter_client picks free
  ports and closes them before the kernel binds them; with several kernels starting at once another one can
  take a port in between, and the kernel's heartbeat then dies with a traceback on the terminal. Socket files
  cannot collide. Windows, or a temporary folder too long for a socket name, keeps TCP.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import functools
import json
import multiprocessing.util as mp_util
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .errors import UbakitError

__all__ = [
    "RunRefusedError",
    "CampaignLock",
    "kernel_config",
    "forward_stderr",
    "JVM_ROUTINE",
    "kernel_start_failed",
    "KERNEL_START_ATTEMPTS",
    "KERNEL_START_TIMEOUT",
    "tracked_kernel_manager",
    "kernel_ipc_path",
    "kill_kernels",
    "sweep_kernels",
    "set_registry",
    "worker_init",
    "stop_pool",
]


class RunRefusedError(UbakitError, RuntimeError):
    """The run cannot start: the campaign is locked by another run, or ``--only`` would read the clean
    tables of an ingest that failed. Nothing ran; the message says how to fix it."""


# ------------------------------------------------------------------------------------------ kernel log
_KERNEL_CONFIG = """# written by helpers/processes.py: drop two routine kernel log messages, keep the rest
import logging


class _RoutineNoise(logging.Filter):
    ROUTINE = ("running over TCP without encryption", "KeyboardInterrupt caught in kernel")

    def filter(self, record):
        return not any(text in record.getMessage() for text in self.ROUTINE)


c.IPKernelApp.logging_config = {
    "filters": {"ubakit_routine": {"()": _RoutineNoise}},
    "handlers": {"console": {"filters": ["ubakit_routine"]}},
}
"""


def kernel_config(state_dir: Path) -> Path:
    """Write (when changed) and return ``<state_dir>/kernel_config.py``, the config file the runner passes
    to each kernel (``--config=...``) to filter the two routine warnings at their source."""
    p = Path(state_dir) / "kernel_config.py"
    if not p.exists() or p.read_text(encoding="utf-8") != _KERNEL_CONFIG:
        tmp = p.with_name(f".{p.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        tmp.write_text(_KERNEL_CONFIG, encoding="utf-8")
        os.replace(tmp, p)
    return p


#: lines the Spark driver a kernel starts (``engine: spark``) writes to the kernel's standard error on every start
#: (Spark 4.0, local mode or a cluster's client): routine, each a substring of its line
JVM_ROUTINE = (
    "Using Spark's default log4j profile",
    "WARN Utils: Your hostname",
    "WARN Utils: Set SPARK_LOCAL_IP",
    'Setting default log level to "WARN"',
    "To adjust logging level use sc.setLogLevel",
    "WARN NativeCodeLoader: Unable to load native-hadoop library",
    "WARNING: Using incubator modules: jdk.incubator.vector",
    'Setting Spark log level to "ERROR"',
)


def forward_stderr(fd: int, out: Any = None) -> None:
    """Copy the lines read from ``fd`` (a kernel's standard error) to ``out`` (default ``sys.stderr``) as they come,
    leaving out :data:`JVM_ROUTINE`; until the last writer closes it (the kernel and the JVM it started end)."""
    import sys

    with os.fdopen(fd, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", errors="replace")
            if not any(text in line for text in JVM_ROUTINE):
                dest = out if out is not None else sys.stderr
                dest.write(line)
                dest.flush()


# ------------------------------------------------------------------------------------------ kernels
#: kernels started by this process: pid -> (process group, connection file)
_LIVE_KERNELS: dict[int, tuple[int, str]] = {}
#: where this process records its kernels for the runner's sweep (None: only in memory)
_REGISTRY: dict[str, Path | None] = {"dir": None}


def set_registry(folder: Path | None) -> None:
    """Record the kernels this process starts as files in ``folder`` (``.state/kernels/``), or stop."""
    _REGISTRY["dir"] = Path(folder) if folder else None


@functools.cache
def tracked_kernel_manager() -> type:
    """An ``AsyncKernelManager`` that records the kernels it starts, so that an interrupted run ends them
    (papermill's ``kernel_manager_class``)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class TrackedKernelManager(AsyncKernelManager):
        @default("transport")
        def _ubakit_transport(self) -> str:
            return "ipc" if kernel_ipc_path() else "tcp"

        @default("ip")
        def _ubakit_ip(self) -> str:
            if self.transport == "ipc":
                return kernel_ipc_path() or "kernel-ipc"
            return super()._ip_default()

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            read = None
            if kw.get("stderr") is None:  # the kernel's standard error, through forward_stderr to the terminal
                read, kw["stderr"] = os.pipe()
            try:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            except BaseException:
                if read is not None:
                    os.close(read)
                raise
            finally:
                if read is not None:
                    os.close(kw["stderr"])  # the kernel has its copy
            if read is not None:
                threading.Thread(target=forward_stderr, args=(read,), name="kernel-stderr", daemon=True).start()
            pid = getattr(self.provisioner, "pid", None)
            if pid:
                self._ubakit_pid = pid
                _track(pid, getattr(self.provisioner, "pgid", None) or pid, self.connection_file)

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
            try:
                await super().shutdown_kernel(now=now, restart=restart)
            finally:
                _untrack(getattr(self, "_ubakit_pid", None))

    return TrackedKernelManager


#: this process's private folder for kernel sockets ("" once found unusable)
_IPC_DIR: dict[str, str] = {}
#: the longest Unix socket name every system takes (Linux 107 bytes, macOS 103), with room for "-<port>"
_IPC_MAX = 100


def kernel_ipc_path() -> str | None:
    """A new, unique socket name prefix for one kernel (``<private folder>/<12 hex>``; the kernel's sockets are
    ``<prefix>-1`` ... ``-5``), or None where Unix sockets are not available or the name would be too long.
    The folder is made once per process, readable by this user only, and removed when the process ends."""
    if os.name != "posix":
        return None
    if _IPC_DIR.get("pid") != str(os.getpid()):  # first call here (a forked worker makes its own)
        base = ""
        for parent in (None, "/tmp"):
            try:
                d = tempfile.mkdtemp(prefix="ubakit-k-", dir=parent)
            except OSError:
                continue
            if len(os.fsencode(d)) + 20 <= _IPC_MAX:
                base = d
                # multiprocessing's exit hook also runs in worker processes, where atexit does not
                mp_util.Finalize(None, _remove_ipc_dir, args=(d, os.getpid()), exitpriority=0)
                break
            os.rmdir(d)
        _IPC_DIR.update(dir=base, pid=str(os.getpid()))
    return os.path.join(_IPC_DIR["dir"], secrets.token_hex(6)) if _IPC_DIR["dir"] else None


def _remove_ipc_dir(folder: str, owner: int) -> None:
    if os.getpid() == owner:  # not in a process forked from the owner
        shutil.rmtree(folder, ignore_errors=True)


def _track(pid: int, pgid: int, connection_file: str) -> None:
    _LIVE_KERNELS[pid] = (pgid, connection_file)
    reg = _REGISTRY["dir"]
    if reg is not None:
        reg.mkdir(parents=True, exist_ok=True)
        (reg / str(pid)).write_text(json.dumps({"pgid": pgid, "connection_file": connection_file}))


def _untrack(pid: int | None) -> None:
    if pid is None:
        return
    _LIVE_KERNELS.pop(pid, None)
    reg = _REGISTRY["dir"]
    if reg is not None:
        (reg / str(pid)).unlink(missing_ok=True)


def _is_kernel(pid: int) -> bool:
    """Whether ``pid`` is alive and (where ``/proc`` tells) an ipykernel process, not a reused pid."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmd = Path(f"/proc/{pid}/cmdline")
    try:
        return b"ipykernel" in cmd.read_bytes()
    except OSError:
        return not cmd.parent.exists()  # no /proc here: trust the record


def _kill_kernel(pid: int, pgid: int, connection_file: str | None) -> None:
    if _is_kernel(pid):
        try:
            os.killpg(pgid, signal.SIGKILL)  # the kernel and what it started (e.g. SnowNLP's worker pool)
        except (ProcessLookupError, PermissionError):
            pass
    if connection_file:
        Path(connection_file).unlink(missing_ok=True)


def kill_kernels() -> None:
    """End the kernels this process started (and their process groups)."""
    for pid, (pgid, conn) in list(_LIVE_KERNELS.items()):
        _kill_kernel(pid, pgid, conn)
        _untrack(pid)


def sweep_kernels(folder: Path) -> None:
    """End every kernel recorded in ``folder`` (the workers' kernels, once the workers are gone)."""
    for f in sorted(folder.glob("*")) if folder.exists() else []:
        try:
            info = json.loads(f.read_text())
            _kill_kernel(int(f.name), int(info["pgid"]), info.get("connection_file"))
        except (ValueError, KeyError, OSError):
            pass
        f.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ workers
def worker_init(registry: str) -> None:
    """Set up a worker process (``ProcessPoolExecutor(initializer=...)``). Workers stay in the runner's
    process group, so a terminal's Ctrl-C reaches them too: they ignore it and let the runner decide.
    SIGTERM (sent by the runner) ends this worker's kernels, then the worker; a worker whose runner died
    (killed with SIGKILL) does the same within half a second."""
    set_registry(Path(registry) if registry else None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _worker_stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
    kill_kernels()
    os._exit(128 + int(signum))


def _watch_parent(ppid: int) -> None:
    while os.getppid() == ppid:
        time.sleep(0.5)
    _worker_stop()


def stop_pool(pool: cf.ProcessPoolExecutor, *, grace_seconds: float = 5.0) -> None:
    """End a pool's workers now: SIGTERM (each ends its kernel), then SIGKILL for any that linger."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace_seconds
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1)


# ------------------------------------------------------------------------------------------ lock
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CampaignLock:
    """``<campaign>/.state/run.lock``: an exclusive ``flock`` held for the whole run, the file saying who
    holds it (PID, host, start time). The operating system releases a ``flock`` when its holder exits, however
    it exits, so the lock of a run that was killed is taken over (:attr:`took_over` says whose it was); a live
    holder makes a second run stop at once with :class:`RunRefusedError`, naming its PID and start time.
    Without ``flock`` (Windows) the PID in the file decides: a dead PID's lock is taken over."""

    def __init__(self, state_dir: Path, campaign: str):
        self.path = Path(state_dir) / "run.lock"
        self.campaign = campaign
        self.fd: int | None = None
        self.took_over: dict | None = None

    def holder(self) -> dict:
        """What the lock file says: ``{"pid", "host", "since"}`` or ``{}``."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> CampaignLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:
            held = self.holder()
            if held.get("pid") and held["pid"] != os.getpid() and _pid_alive(int(held["pid"])):
                os.close(fd)
                raise self._refusal(held) from None
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self._refusal(self.holder()) from None
        held = self.holder()
        if held.get("pid"):
            self.took_over = held  # its holder ended without releasing it (killed)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": dt.datetime.now().isoformat("T", "seconds")}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(me).encode())
        self.fd = fd
        return self

    def _refusal(self, held: dict) -> RunRefusedError:
        pid = held.get("pid", "?")
        return RunRefusedError(
            f"campaign {self.campaign!r} is already being run by process {pid} on {held.get('host', '?')} "
            f"since {str(held.get('since', '?')).replace('T', ' ')}: wait for it to finish or stop it "
            f"(kill {pid}); the lock is .state/run.lock in the campaign folder"
        )

    def release(self) -> None:
        """Clear the file and release the lock."""
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


#: a notebook whose kernel dies or stays silent before its first cell is started again, up to this many times in
#: all: a busy machine or two kernels racing for the same ports (jupyter_client picks free ports, then binds them
#: later) make a start fail now and then, and a report must not fail for it
KERNEL_START_ATTEMPTS = 3
#: seconds a starting kernel has to answer (papermill's default is 60; a loaded 2-core machine took longer)
KERNEL_START_TIMEOUT = 120

_KERNEL_START_ERRORS = ("Kernel died before replying to kernel_info", "Kernel didn't respond in")


def kernel_start_failed(e: BaseException) -> bool:
    """Whether ``e`` says the kernel never started (no cell ran): the messages of jupyter_client and nbclient."""
    import papermill as pm

    if isinstance(e, pm.PapermillExecutionError):  # a cell ran and raised: the notebook's own error
        return False
    return any(m in str(e) for m in _KERNEL_START_ERRORS)
