"""The indexer: vault discovery from VaultCreated, eth_getLogs in adaptive block ranges,
confirmation depth, reorg detection by stored block hashes, idempotent and resumable storage.

The package imports nothing itself, so the API's read side can use `rpc` and `decoder`
without loading the writer (`runner`, `store`); import `Indexer` from `api.indexer.runner`.
"""
