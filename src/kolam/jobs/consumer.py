"""Running jobs: inside the server process (threads, started and stopped with the app) or standalone.

The embedded consumer leaves signals to the server (uvicorn owns SIGINT/SIGTERM) and polls often, so a job
enqueued by a request starts within a second or two. At most one embedded consumer runs per queue in a
process, whatever number of apps a process makes (tests make many).
"""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from kolam.jobs.queue import Jobs, jobs_location

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 10.0  # a job still running after this long is left behind (Huey runs it again later)
_running: set[str] = set()
_lock = threading.Lock()


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A Huey consumer that does not touch the process's signal handlers."""

    def _set_signal_handlers(self) -> None:
        return None


class JobRunner:
    """Owns one consumer's life: ``start`` (no-op for 0 workers, or if this queue already has one here)."""

    def __init__(self, jobs: Jobs, workers: int, *, poll_seconds: float = 1.0) -> None:
        self.jobs, self.workers, self.poll_seconds = jobs, workers, poll_seconds
        self.consumer: EmbeddedConsumer | None = None
        self._key = f"{jobs_location(jobs.settings)}#{jobs.huey.name}"

    def start(self) -> bool:
        if self.workers <= 0:
            return False
        with _lock:
            if self._key in _running:
                log.info("a job consumer already runs in this process for %s", self._key)
                return False
            _running.add(self._key)
        self.consumer = EmbeddedConsumer(
            self.jobs.huey, workers=self.workers, worker_type="thread", periodic=False,
            initial_delay=0.05, max_delay=self.poll_seconds, check_worker_health=False,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )  # fmt: skip
        self.consumer.start()
        return True

    def stop(self) -> None:
        if self.consumer is None:
            return
        self.consumer.stop(graceful=True)
        self.consumer = None
        with _lock:
            _running.discard(self._key)

    @property
    def running(self) -> bool:
        return self.consumer is not None
