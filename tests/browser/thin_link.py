"""A thin link for the browser: DevTools network emulation on the page AND on every service worker.

The page's emulation does not reach requests a service worker makes itself (a file fetched through the
worker took 28 ms with only the page throttled, 768 ms with both), so each worker is attached as it appears
and given the same conditions. Bytes on the wire are counted from both.
"""

from __future__ import annotations

import json
from typing import Any

# The link: 256 kbit/s each way, 500 ms round trips.
THIN = {"offline": False, "latency": 500, "downloadThroughput": 256_000 / 8, "uploadThroughput": 256_000 / 8}


class ThinLink:
    def __init__(self, browser: Any, context: Any, page: Any, conditions: dict[str, Any] = THIN) -> None:
        self.conditions = conditions
        self.bytes = 0
        self.requests: list[tuple[str, int]] = []
        self._urls: dict[str, str] = {}
        self.page_cdp = context.new_cdp_session(page)
        self.page_cdp.send("Network.enable")
        self.page_cdp.send("Network.emulateNetworkConditions", conditions)
        self.page_cdp.on("Network.requestWillBeSent", self._sent)
        self.page_cdp.on("Network.loadingFinished", self._finished)
        self.browser_cdp = browser.new_browser_cdp_session()
        self.workers: set[str] = set()
        self.browser_cdp.on("Target.targetCreated", lambda e: self._target(e["targetInfo"]))
        self.browser_cdp.on("Target.receivedMessageFromTarget", self._worker_message)
        self.browser_cdp.send("Target.setDiscoverTargets", {"discover": True})
        for info in self.browser_cdp.send("Target.getTargets")["targetInfos"]:
            self._target(info)

    def _sent(self, event: dict[str, Any]) -> None:
        self._urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event: dict[str, Any]) -> None:
        size = int(event.get("encodedDataLength", 0))
        self.bytes += size
        self.requests.append((self._urls.get(event["requestId"], "?"), size))

    def _target(self, info: dict[str, Any]) -> None:
        if info["type"] != "service_worker" or info["targetId"] in self.workers:
            return
        self.workers.add(info["targetId"])
        session = self.browser_cdp.send("Target.attachToTarget", {"targetId": info["targetId"], "flatten": False})
        calls = (("Network.enable", {}), ("Network.emulateNetworkConditions", self.conditions))
        for i, (method, params) in enumerate(calls):
            message = json.dumps({"id": 1000 + i, "method": method, "params": params})
            self.browser_cdp.send("Target.sendMessageToTarget", {"sessionId": session["sessionId"], "message": message})

    def _worker_message(self, event: dict[str, Any]) -> None:
        message = json.loads(event["message"])
        if message.get("method") == "Network.requestWillBeSent":
            self._sent(message["params"])
        elif message.get("method") == "Network.loadingFinished":
            self._finished(message["params"])
