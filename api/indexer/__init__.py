"""The indexer: vault discovery from VaultCreated, eth_getLogs in adaptive block ranges,
confirmation depth, reorg detection by stored block hashes, idempotent and resumable storage."""

from api.indexer.decoder import EventDecoder, cohort_decoder
from api.indexer.runner import Indexer, SyncReport

__all__ = ["EventDecoder", "Indexer", "SyncReport", "cohort_decoder"]
