"""Prometheus metrics, one registry per keeper (several keepers can share a process in tests).

`keeper_signals{state=...}` is read from the store at scrape time, so it stays true across
restarts; the rest are counted by this process.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from keeper.policy import SignalState
from keeper.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0, 300.0)


class _SignalsByState(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("keeper_signals", "Signals in the store, by state", labels=["state"])
        counts = self.store.counts_by_state()
        for state in SignalState:
            family.add_metric([str(state)], counts.get(str(state), 0))
        yield family


class KeeperMetrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("keeper_signals_received", "Signals submitted (HTTP or store)", ["source"],
                                registry=r)
        self.rejected = Counter("keeper_signals_rejected", "Signals refused, by reason", ["reason"], registry=r)
        self.refusals_unrecorded = Counter("keeper_refusals_unrecorded",
                                           "Refused submissions answered 429 and not recorded (client over its "
                                           "refusal budget), by reason", ["reason"], registry=r)
        self.outcomes = Counter("keeper_signal_outcomes", "Signals that reached a final state", ["state"],
                                registry=r)
        self.to_broadcast = Histogram("keeper_receipt_to_broadcast_seconds",
                                      "From a signal's HTTP receipt to its transaction's broadcast",
                                      buckets=LATENCY_BUCKETS, registry=r)
        self.to_mined = Histogram("keeper_receipt_to_mined_seconds",
                                  "From a signal's HTTP receipt to its transaction's receipt",
                                  buckets=LATENCY_BUCKETS, registry=r)
        self.last_block = Gauge("keeper_last_block", "Latest block number seen", registry=r)
        self.rpc_up = Gauge("keeper_rpc_up", "1 while the node answers", registry=r)
        self.breaker_open = Gauge("keeper_breaker_open", "1 while the circuit breaker stops sending", registry=r)
        self.gas_used = Counter("keeper_gas_used", "Gas used by the keeper's mined transactions", registry=r)
        self.gas_spent = Counter("keeper_gas_spent_wei", "Wei paid for gas by the keeper's mined transactions",
                                 registry=r)
        self.tx_sent = Counter("keeper_transactions_sent", "Transactions broadcast, by kind", ["kind"], registry=r)
        self.replacements = Counter("keeper_transaction_replacements",
                                    "Stuck transactions replaced (fee bump or cancellation)", ["action"], registry=r)
        self.duty_runs = Counter("keeper_duty_runs", "Duty rounds, by duty and outcome", ["duty", "outcome"],
                                 registry=r)
        r.register(_SignalsByState(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)
