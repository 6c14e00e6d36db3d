"""eth_getLogs ranges adapt to what the provider accepts: the policy on its own, then the
indexer behind a JSON-RPC proxy that refuses ranges wider than public providers allow."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from api.indexer.batching import BatchPolicy, looks_like_limit
from api.indexer.runner import Indexer
from cohort.dev.stack import Anvil
from tests.api.conftest import MakeHarness, api_dump
from tests.api.scenario import Scenario

POLICY = BatchPolicy(minimum=1, maximum=1_000, target_logs=100)


def test_the_range_shrinks_on_refusal_down_to_the_minimum() -> None:
    assert POLICY.after_refusal(1_000) == 500
    assert POLICY.after_refusal(3) == 1
    assert POLICY.after_refusal(1) is None


def test_the_range_grows_while_answers_are_small_and_shrinks_when_they_overshoot() -> None:
    assert POLICY.after_success(10, logs=0) == 20
    assert POLICY.after_success(800, logs=10) == 1_000  # capped
    assert POLICY.after_success(100, logs=75) == 100  # near the target: keep
    assert POLICY.after_success(100, logs=500) == 50
    assert POLICY.after_success(8, logs=0, ceiling=10) == 10  # never above the size a refusal taught


@pytest.mark.parametrize("message", ["query returned more than 10000 results", "block range is too wide",
                                     "exceed maximum block range: 5000", "Log response size exceeded",
                                     "ReadTimeout: timed out"])
def test_provider_limit_errors_are_recognised(message: str) -> None:
    assert looks_like_limit(message)


def test_unrelated_errors_are_not_limits() -> None:
    assert not looks_like_limit("connection refused")


MAX_RANGE = 10


class _LimitingProxy(BaseHTTPRequestHandler):
    """Forwards JSON-RPC to anvil; refuses eth_getLogs over more than MAX_RANGE blocks."""

    upstream = ""
    refused = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        requests = body if isinstance(body, list) else [body]
        for request in requests:
            if request.get("method") == "eth_getLogs":
                query = request["params"][0]
                width = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
                if width > MAX_RANGE:
                    type(self).refused += 1
                    self._reply({"jsonrpc": "2.0", "id": request.get("id"), "error": {
                        "code": -32005, "message": f"query exceeds max block range {MAX_RANGE}"}})
                    return
        answer = httpx.post(self.upstream, json=body, timeout=30).json()
        self._reply(answer)

    def _reply(self, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def limiting_proxy(anvil: Anvil) -> Iterator[str]:
    _LimitingProxy.upstream, _LimitingProxy.refused = anvil.rpc_url, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LimitingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_indexer_adapts_to_a_provider_that_limits_ranges(scenario: Scenario, make_harness: MakeHarness,
                                                             limiting_proxy: str, tmp_path: Path) -> None:
    vaults, people = [scenario.vault.address], scenario.accounts
    with make_harness(f"sqlite:///{tmp_path / 'direct.sqlite3'}") as direct:
        direct.sync()
        expected = api_dump(direct, vaults, people)
    with make_harness(f"sqlite:///{tmp_path / 'limited.sqlite3'}", batch_blocks=500) as h:
        settings = h.settings.model_copy(update={"rpc_url": limiting_proxy})
        indexer = Indexer(settings, h.engine)
        report = indexer.sync()
        assert 5 <= _LimitingProxy.refused <= 8 and indexer.batch <= MAX_RANGE  # 500 -> 250 -> ... -> 7
        assert report.to_block == scenario.w3.eth.block_number
        h.client.app.state.cohort.contexts.clear()  # type: ignore[attr-defined]
        assert api_dump(h, vaults, people) == expected
