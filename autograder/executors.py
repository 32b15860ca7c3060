"""Where grading tasks run: a local process pool (the default) or a Dask distributed cluster.

Both run :func:`autograder.grading.grade_submission` on self-contained tasks and call back in the
coordinating process, once per task: ``on_result`` with what the worker returned, or ``on_failure``
with the reason when the task failed twice (its worker died twice, or the grader itself raised
twice). A task whose worker dies is run again, on another worker when there is one. Neither
executor writes anything; the coordinator (:mod:`autograder.batch`) records the results.

``--scheduler local:N`` starts a Dask ``LocalCluster`` of N single-threaded worker processes on
this machine; any other value is the address of a running Dask scheduler (``tcp://host:8786``).
"""
from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol

from autograder import grading

if TYPE_CHECKING:
    from distributed import Client

MAX_ATTEMPTS = 2  # a task is run at most twice
LOCAL_PREFIX = "local:"
CONNECT_TIMEOUT_S = 30
WORKER_WAIT_S = 120
TASKS_PER_WORKER_THREAD = 2  # tasks handed to the scheduler ahead of time, per worker thread

OnResult = Callable[[grading.GradedSubmission], None]
OnFailure = Callable[[grading.GradeTask, str], None]


class ExecutorError(RuntimeError):
    """The executor cannot be set up (no such scheduler, Dask not installed); the message says what to do."""


class Executor(Protocol):
    """Runs grading tasks and reports each one exactly once, in the calling process."""

    def run(self, tasks: Iterable[grading.GradeTask], on_result: OnResult, on_failure: OnFailure) -> None:
        """Run ``tasks`` (consumed lazily, a few ahead of the workers) until every one is reported."""


def is_local(scheduler: str | None) -> bool:
    """Whether the workers of ``scheduler`` run on this machine (the pool, or ``local:N``)."""
    return scheduler is None or scheduler.startswith(LOCAL_PREFIX)


def executor_for(scheduler: str | None, jobs: int | None) -> Executor:
    """The local process pool of ``jobs`` workers, or the Dask cluster ``scheduler`` (an address or ``local:N``).

    Raises:
        ExecutorError: ``local:N`` does not give a positive number of workers.
    """
    if scheduler is None:
        return LocalPool(jobs)
    if scheduler.startswith(LOCAL_PREFIX):
        count = scheduler.removeprefix(LOCAL_PREFIX)
        if not count.isdigit() or int(count) < 1:
            raise ExecutorError(f"--scheduler {scheduler}: give the number of local workers, e.g. local:4.")
        return DaskCluster(local_workers=int(count))
    return DaskCluster(address=scheduler)


class LocalPool:
    """A process pool on this machine; a pool broken by a dying worker is replaced and its tasks run again.

    Args:
        jobs: worker processes (default: all cores).
        work: what a worker runs on each task (a module-level function; tests give their own).
    """

    def __init__(self, jobs: int | None,
                 work: Callable[[grading.GradeTask], grading.GradedSubmission] = grading.grade_submission) -> None:
        self.workers = max(1, jobs or os.cpu_count() or 1)
        self.work = work

    def run(self, tasks: Iterable[grading.GradeTask], on_result: OnResult, on_failure: OnFailure) -> None:
        upcoming = iter(tasks)
        again: deque[grading.GradeTask] = deque()
        failures: dict[str, int] = {}
        more = True
        while more:
            with ProcessPoolExecutor(max_workers=self.workers) as pool:
                more = self._run_pool(pool, upcoming, again, failures, on_result, on_failure)

    def _run_pool(self, pool: ProcessPoolExecutor, upcoming: Iterator[grading.GradeTask],
                  again: deque[grading.GradeTask], failures: dict[str, int], on_result: OnResult,
                  on_failure: OnFailure) -> bool:
        """Run tasks on ``pool`` until none is left (returns False) or the pool broke (returns True)."""
        running: dict[Future, grading.GradeTask] = {}
        broken = False

        def hand_out() -> None:
            """At most one task per worker: a break hits only those."""
            while not broken and len(running) < self.workers:
                task = again.popleft() if again else next(upcoming, None)
                if task is None:
                    return
                running[pool.submit(self.work, task)] = task

        def collect(done: Iterable[Future]) -> list[Callable[[], None]]:
            """Take finished tasks off ``running``; a failed one is queued again or, the second time, reported."""
            nonlocal broken
            reports: list[Callable[[], None]] = []
            for future in done:
                task = running.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    reason = "its worker process died (killed, or out of memory)"
                except Exception as error:  # the grader itself failed on this task: run again, then reported
                    reason = f"the grader failed: {type(error).__name__}: {error}"
                else:
                    reports.append(functools.partial(on_result, outcome))
                    continue
                failures[task.student] = failures.get(task.student, 0) + 1
                if failures[task.student] >= MAX_ATTEMPTS:
                    reports.append(functools.partial(on_failure, task, reason))
                else:
                    again.append(task)
            return reports

        while True:
            hand_out()
            if not running:
                return broken
            reports = collect(wait(running, return_when=FIRST_COMPLETED).done)
            while reports:  # recording takes time: a worker that finishes meanwhile gets its next task first
                hand_out()
                reports.pop(0)()
                reports += collect([future for future in running if future.done()])


class DaskCluster:
    """A Dask distributed cluster: a running scheduler at ``address``, or a ``LocalCluster`` started here.

    A task whose worker dies is rescheduled by Dask on another worker; the ``LocalCluster`` gives up
    after the second death (``allowed_failures``), a scheduler of your own after its configured
    ``distributed.scheduler.allowed-failures`` (see docs/distributed.md). An exception of the grader
    is retried once.
    """

    def __init__(self, address: str | None = None, local_workers: int | None = None) -> None:
        self.address, self.local_workers = address, local_workers

    @contextlib.contextmanager
    def _client(self) -> Iterator[Client]:
        try:
            import distributed
        except ImportError:
            raise ExecutorError("--scheduler needs Dask distributed: pip install 'distributed>=2024.1' (on the "
                                "coordinator and on every worker machine).") from None
        with contextlib.ExitStack() as stack:
            if self.local_workers is not None:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=self.local_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                    scheduler_kwargs={"allowed_failures": MAX_ATTEMPTS - 1}))
                client = stack.enter_context(distributed.Client(cluster))
            else:
                try:
                    client = stack.enter_context(distributed.Client(self.address, timeout=CONNECT_TIMEOUT_S))
                except (OSError, TimeoutError) as error:
                    raise ExecutorError(f"No Dask scheduler answered at {self.address} ({error}). Start one with "
                                        f"`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, or "
                                        f"use --scheduler local:N for workers on this machine.") from None
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            except TimeoutError:
                raise ExecutorError(f"No Dask worker joined the scheduler {client.scheduler.address} within "
                                    f"{WORKER_WAIT_S} s; start workers with `dask worker "
                                    f"{client.scheduler.address} --nthreads 1`.") from None
            yield client

    def run(self, tasks: Iterable[grading.GradeTask], on_result: OnResult, on_failure: OnFailure) -> None:
        from distributed import KilledWorker, as_completed

        upcoming = iter(tasks)
        with self._client() as client:
            in_flight: dict[str, grading.GradeTask] = {}
            finished = as_completed()

            def hand_out() -> None:
                """Keep a few tasks per worker thread at the scheduler; the rest wait here, unread."""
                window = TASKS_PER_WORKER_THREAD * max(1, sum(client.nthreads().values()))
                while len(in_flight) < window:
                    task = next(upcoming, None)
                    if task is None:
                        return
                    key = f"grade-{task.assignment}-{task.student}-{uuid.uuid4().hex[:12]}"
                    in_flight[key] = task
                    finished.add(client.submit(grading.grade_submission, task, key=key, pure=False,
                                               retries=MAX_ATTEMPTS - 1))

            hand_out()
            for future in finished:
                task = in_flight.pop(future.key)
                hand_out()
                if future.status == "finished":
                    outcome = future.result()
                    future.release()
                    on_result(outcome)
                    continue
                error = future.exception() if future.status == "error" else None
                future.release()
                if isinstance(error, KilledWorker):
                    on_failure(task, "its worker died twice (killed, or out of memory)")
                elif error is not None:
                    on_failure(task, f"the grader failed: {type(error).__name__}: {error}")
                else:
                    on_failure(task, f"the scheduler dropped the task ({future.status})")
