"""While the annotator works, the workspace keeps its whole batch leased with one request per round."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from kolam.store.tables import Lease
from tests.browser.conftest import LiveServer
from tests.browser.test_workspace_core import CLASSES, fashion_folder, open_workspace, start


def test_the_batch_is_renewed_in_one_request(page, live_server: LiveServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project, _ = start(page, live_server, "image_classes", schema=CLASSES, lease_seconds=10)
    live_server.factory.files(project, fashion_folder(tmp_path, 3))
    renew_calls: list[str] = []
    page.on("request", lambda r: "/renew" in r.url and renew_calls.append(r.url))
    open_workspace(page, project)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with live_server.db.read() as s:
            renewals = s.scalars(
                sa.select(Lease.renewals).where(Lease.project_id == project.id, Lease.status == "active")
            ).all()
        if len(renewals) == 3 and min(renewals) >= 1:
            break
        page.wait_for_timeout(500)
    assert len(renewals) == 3 and min(renewals) >= 1, renewals  # every leased task renewed, none lost
    assert renew_calls and all(url.endswith("/api/v1/leases/renew") for url in renew_calls)
    assert len(renew_calls) <= max(renewals)  # one request a round for the whole batch, not one per task
