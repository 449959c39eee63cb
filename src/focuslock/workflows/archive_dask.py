"""``check-archive``'s work on Dask distributed: pictures judged in worker processes.

* **Paths, never pixels.** A task is a picture's path (and its companions'), and the
  checksum the log holds for it; the worker opens the file itself
  (:func:`focuslock.workflows.shot_log.judge_shot`: read once, hashed, decoded) and
  sends back the verdict and the checksum — a few hundred bytes. With a studio's own
  scheduler (``--scheduler tcp://…``) every worker must see the files at the same paths.
* **The judge sent once.** The session's reference picture and setup (:class:`JudgeSpec`)
  are scattered to the workers once; each worker process builds its
  :class:`~focuslock.session.shot_check.ShotJudge` from them at its first task and keeps it.
* **Resumable by checksum, on the workers.** A task carries the checksum logged for its
  path; the worker hashes the file first and, when it is the same, sends back "unchanged"
  without decoding it. Hashing a million files is spread over the workers like the rest.
* **Results as they finish** (``distributed.as_completed``), a bounded number of tasks in
  flight (:data:`IN_FLIGHT_PER_WORKER` per worker): a million paths never sit on the
  scheduler at once, and stopping cancels only what is in flight.

``distributed`` is imported inside the functions: ``focuslock --help`` does not load it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focuslock.core.errors import FocuslockError
from focuslock.session.hotfolder import FileGone, read_file_once, structure_complete
from focuslock.session.shot_check import SessionSetup, ShotJudge
from focuslock.session.verdict import ShotOutcome, ShotVerdict
from focuslock.workflows.shot_log import HashedFile, JudgedShot, judge_shot

__all__ = ["IN_FLIGHT_PER_WORKER", "ArchiveTask", "DaskError", "JudgeSpec", "TaskOutcome", "judge_task", "run_on_dask"]

logger = logging.getLogger(__name__)

# Tasks kept in flight per worker thread: enough that no worker waits for the next path.
IN_FLIGHT_PER_WORKER = 4
# How long the client waits for a studio's scheduler to answer (seconds).
_CONNECT_TIMEOUT_S = 20


class DaskError(FocuslockError):
    """The cluster cannot be started or reached; ``str()`` is one sentence."""


@dataclass(frozen=True)
class JudgeSpec:
    """All a worker needs to build the session's judge: the reference picture (decoded,
    BGR) and the setup; ``key`` names the pair (workers keep one judge per key)."""

    reference_bgr: np.ndarray
    setup: SessionSetup
    key: str
    previews: bool = False  # the hub's thumbnail and crop made on the worker

    @classmethod
    def of(cls, judge: ShotJudge, *, previews: bool = False) -> JudgeSpec:
        reference = np.ascontiguousarray(judge.reference_bgr)
        digest = hashlib.sha256(reference.tobytes())
        digest.update(json.dumps(judge.setup.to_json(), sort_keys=True).encode())
        return cls(reference, judge.setup, digest.hexdigest(), previews)

    def build(self) -> ShotJudge:
        return ShotJudge(self.reference_bgr, self.setup)


@dataclass(frozen=True)
class ArchiveTask:
    """One picture to judge: its path (absolute, as every worker sees it), its RAW
    companions, and the checksum the log holds for it (None: not judged yet)."""

    path: str
    companions: tuple[str, ...] = ()
    logged_sha256: str | None = None


@dataclass(frozen=True)
class TaskOutcome:
    """A task's result: the shot judged, or ``unchanged`` (judged before, same checksum),
    or ``gone`` (moved or deleted before it was read)."""

    task: ArchiveTask
    judged: JudgedShot | None = None
    unchanged: bool = False
    gone: bool = False


# The judges this worker process built, by JudgeSpec.key (one per session, in practice).
_JUDGES: dict[str, ShotJudge] = {}
_JUDGES_LOCK = threading.Lock()


def _judge_of(spec: JudgeSpec) -> ShotJudge:
    with _JUDGES_LOCK:
        judge = _JUDGES.get(spec.key)
        if judge is None:
            import cv2

            cv2.setNumThreads(1)  # one worker, one core: the cluster's size is the cores it uses
            _JUDGES.clear()
            judge = _JUDGES[spec.key] = spec.build()
        return judge


def _warm(spec: JudgeSpec) -> str:
    """Run on each worker before the first task: its judge built; its focuslock's version."""
    from focuslock import __version__

    _judge_of(spec)
    return __version__


def _warm_every_worker(client, spec_future, threads: dict) -> None:
    """Each worker builds its judge now (one that joins later builds it at its first task);
    a worker that cannot (no focuslock, another version) stops the run before any picture
    is logged as its failure."""
    from focuslock import __version__

    try:
        versions = client.gather([client.submit(_warm, spec_future, workers=[address], allow_other_workers=False,
                                                pure=False) for address in threads])
    except Exception as error:
        raise DaskError(f"The Dask workers cannot judge pictures ({_first_line(error)}); each needs focuslock "
                        f"{__version__} installed.") from None
    others = sorted(set(versions) - {__version__})
    if others:
        raise DaskError(f"The Dask workers run focuslock {', '.join(others)}, this is {__version__}: their verdicts "
                        "could differ; install the same version on every worker.")


def judge_task(task: ArchiveTask, spec: JudgeSpec) -> TaskOutcome:
    """Run on a worker: the picture at ``task.path`` judged as ``watch`` judges it (its
    structure checked as the hot folder checks it), or found unchanged since it was logged."""
    path = Path(task.path)
    try:
        if task.logged_sha256 is not None and read_file_once(path, decode=False).sha256 == task.logged_sha256:
            return TaskOutcome(task, unchanged=True)
        complete = structure_complete(path) is not False
        return TaskOutcome(task, judge_shot(path, complete, [Path(c) for c in task.companions], _judge_of(spec),
                                                 previews=spec.previews))
    except FileGone:
        return TaskOutcome(task, gone=True)


def failed_outcome(task: ArchiveTask, error: BaseException) -> TaskOutcome:
    """A task whose worker failed (it died on the file, or raised): the picture's shot is
    UNCERTAIN with why, as a file that cannot be judged is in ``watch``."""
    name = Path(task.path).name
    detail = (str(error).strip().splitlines() or [type(error).__name__])[-1][:160]
    reason = f"{name} could not be judged (its worker failed: {detail}); its focus was not checked."
    verdict = ShotVerdict(Path(task.path), ShotOutcome.UNCERTAIN, reason, (), None, None, None)
    return TaskOutcome(task, JudgedShot(verdict, HashedFile(Path(task.path), "", 0), readable=False))


def run_on_dask(tasks: Iterable[ArchiveTask], spec: JudgeSpec, on_outcome: Callable[[TaskOutcome], None], *,
                scheduler: str | None = None, workers: int | None = None, stop: threading.Event | None = None,
                on_ready: Callable[[], None] | None = None) -> int:
    """Judge ``tasks`` on a local cluster of ``workers`` processes (default: the cores), or
    on the Dask scheduler at ``scheduler``; ``on_outcome`` is called in this thread with
    each result as it finishes. Stops taking results once ``stop`` is set (what is in
    flight is cancelled); ``on_ready``: called once the cluster is up. Returns the number
    of workers used."""
    stop = stop or threading.Event()
    with _client(scheduler, workers) as client:
        threads = client.nthreads()
        if not threads:
            raise DaskError(f"The Dask scheduler at {scheduler} has no workers; start one with `dask worker {scheduler}` "
                            "on a machine that sees the pictures at the same paths.")
        spec_future = client.scatter(spec, broadcast=True)
        _warm_every_worker(client, spec_future, threads)
        if on_ready is not None:
            on_ready()
        if not stop.is_set():
            _gather(client, iter(tasks), spec_future, IN_FLIGHT_PER_WORKER * max(1, sum(threads.values())), on_outcome,
                    stop)
        return len(threads)


def _gather(client, tasks: Iterator[ArchiveTask], spec_future, window: int, on_outcome: Callable[[TaskOutcome], None],
            stop: threading.Event) -> None:
    from distributed import as_completed

    def submit(task: ArchiveTask):
        future = client.submit(judge_task, task, spec_future, pure=False)
        in_flight[future.key] = (future, task)
        return future

    in_flight: dict[str, tuple[object, ArchiveTask]] = {}
    pending = as_completed([submit(task) for task in itertools.islice(tasks, window)], loop=client.loop)
    try:
        for future in pending:
            _, task = in_flight.pop(future.key)
            try:
                outcome = future.result()
            except Exception as error:  # the worker died on this file, or raised: the file's reason
                logger.debug("the task for %s failed", task.path, exc_info=error)
                if stop.is_set():
                    break  # the cluster stops with the run: not the file's fault, judged next run
                outcome = failed_outcome(task, error)
            future.release()
            on_outcome(outcome)
            if stop.is_set():
                break
            following = next(tasks, None)
            if following is not None:
                pending.add(submit(following))
    finally:
        if in_flight:
            client.cancel([future for future, _ in in_flight.values()])


class _client:
    """A Dask client on a new local cluster (closed with it), or on a studio's scheduler."""

    def __init__(self, scheduler: str | None, workers: int | None) -> None:
        self.scheduler, self.workers = scheduler, workers
        self.cluster = self.client = None

    def __enter__(self):
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout=_CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as error:
                raise DaskError(f"The Dask scheduler at {self.scheduler} cannot be reached ({_first_line(error)}).") from None
            return self.client
        workers = self.workers or os.cpu_count() or 1
        try:
            with _workers_ignore_ctrl_c():
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.CRITICAL,
                                            preload=[__name__])
            self.client = Client(self.cluster, set_as_default=False)
        except (OSError, TimeoutError, RuntimeError) as error:
            if self.cluster is not None:
                self.cluster.close()
            raise DaskError(f"A local Dask cluster of {workers} workers could not start ({_first_line(error)}).") from None
        return self.client

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def dask_setup(worker: object) -> None:
    """Run in each worker of a local cluster as it starts (Dask's preload hook): Dask's own
    log stays quiet below CRITICAL there. A worker whose heartbeat meets the scheduler
    closing first at the end of a run would print a traceback at ERROR; a task's own
    failure reaches the run through its future and is said there in one sentence."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Ctrl-C in a terminal goes to the whole process group: the workers started meanwhile
    ignore it (an ignored signal stays ignored in a process started from this one), so
    only this process hears it and stops the run, and with it the cluster, in order."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
