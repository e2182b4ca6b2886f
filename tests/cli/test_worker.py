"""`kolam worker` as operators run it: a separate process that takes jobs the server queued, and stops cleanly
on SIGTERM (finishing what it holds)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from kolam.jobs.queue import build_jobs
from kolam.settings import Settings
from kolam.store.tables import Derivative
from tests.factories import Factory

DATA = Path(__file__).resolve().parents[1] / "data"
KOLAM = Path(sys.executable).parent / "kolam"


def test_worker_runs_queued_jobs_and_stops_on_sigterm(factory: Factory, settings: Settings, tmp_path: Path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(DATA / "photo_china.jpg", folder / "china.jpg")
    project = factory.project(factory.org(), "image_classes")
    import_id = factory.files(project, folder)
    jobs = build_jobs(settings)  # the server's side: enqueue only
    jobs.enqueue_derive_import(import_id)
    jobs.close()
    env = {
        **os.environ,
        "KOLAM_DATA_DIR": str(settings.data_dir),
        "KOLAM_DATABASE_URL": factory.db.engine.url.render_as_string(hide_password=False),
        "KOLAM_LOG_LEVEL": "warning",
    }
    worker = subprocess.Popen([str(KOLAM), "worker", "--workers", "1"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        derived = 0
        while time.monotonic() < deadline and not derived:
            with factory.db.read() as s:
                derived = int(s.scalar(sa.select(sa.func.count()).select_from(Derivative)) or 0)
            time.sleep(0.2)
        assert derived == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "kolam worker: 1 thread(s) on sqlite:///" in output
