"""Cohort keeper: relays manager-signed trade signals to Cohort vaults and runs their duties.

Run it
------
    cohort-keeper run --config keeper.toml        # or: python -m keeper run --config keeper.toml

It serves HTTP, verifies each submitted signal, stores it (SQLite, WAL) before answering,
simulates it with eth_call, sends it from its own account (own nonces, EIP-1559 fees, stuck
transactions replaced, nothing sent after a signal's deadline) and records the outcome. It
resumes after a restart from the store and reconciles with the chain, so nothing is executed
twice; an RPC outage only delays it. It also accrues fees, settles redemptions (unwinding
first when the vault is short of the base asset) and de-risks a vault whose drawdown breaker
has tripped. SIGTERM or SIGINT stops it gracefully.

Settings (TOML keys; every key also as an env var `KEEPER_<KEY>`, which wins over the file)
------------------------------------------------------------------------------------------
    rpc_url             node JSON-RPC URL (default http://127.0.0.1:8545); the env var is
                        COHORT_RPC_URL, shared with the CLI and the API (KEEPER_RPC_URL: deprecated)
    chain_id            refuse to run against another chain (default: whatever the node is)
    manifest, vaults    deployments/<network>.json and vault labels or addresses to serve
                        (KEEPER_VAULTS="0xabc...,0xdef..."; empty: every vault of the manifest)
    private_key         the keeper's key; put it in KEEPER_PRIVATE_KEY, not in the file
    keyfile, keyfile_passphrase   or a JSON keystore (KEEPER_KEYFILE_PASSPHRASE)
    db_path             SQLite store (default keeper.db); sqlite_synchronous FULL | NORMAL
    host, port          HTTP listen address (default 127.0.0.1:8547); admin_token enables
                        POST /breaker/reset (Authorization: Bearer <token>); without one it is refused
    refusal_burst, refusals_per_s   refused submissions recorded per client (30, then 1/s); past
                        that they are answered 429 too_many_refusals, counted, not stored
    poll_interval_s     head polling; replace_after_blocks / replace_after_s: when a pending
                        transaction counts as stuck; fee_bump_bps (>= 1250) per replacement;
                        priority_fee_gwei, max_fee_gwei (hard cap); deadline_margin_s
    retry_limit, retry_delay_s        retries of transient simulation reverts (a retrying signal
                        waits off its vault's queue); reverts that can never pass fail at once
    claim_slot_s        several keepers of one vault take turns per signal: the n-th in line
                        (keccak of digest and keeper) waits n slots (default 2 s), then sends only
                        if the pending block shows nobody has; 0: no turns
    breaker_threshold, breaker_cooldown_s   consecutive failures that stop sending, and for how
                        long (0: until POST /breaker/reset, or a restart)
    fees_interval_s, redemptions_interval_s, risk_interval_s   duty periods (0 disables one);
                        derisk_bps: share of a holding sold per de-risking call
    strategies          the CohortStrategies contract (default: the manifest's cohort.strategies)
    max_followers_per_chunk, block_gas_fraction_pct   a master's followers per executeMaster
                        transaction, and the share of the block gas limit one may use;
                        master_base_gas, master_follower_gas: planning estimates (each chunk is
                        simulated); floor_slippage_bps: the floor price is the simulated price less this
    log_level, log_json structured JSON lines on stderr; secrets are redacted

keeper/keeper.example.toml lists them all with their defaults.

HTTP
----
    POST /signals               a SignedSignal's JSON (cohort.signals) -> 202 {"id", "digest",
                                "state"}; 200 with "duplicate": true if already accepted;
                                4xx {"error": code, "detail": why} otherwise: malformed_json,
                                body_too_large, invalid_signal, unknown_vault, wrong_chain,
                                digest_mismatch, bad_signature, expired, nonce_used (409),
                                too_many_refusals (429: not recorded). Refusals are stored clipped
    GET  /signals/{id}?wait=S   state, reason, outcome and transactions (waits up to S seconds
                                for a final state)
    GET  /signals?state=&vault=&limit=&offset=
    POST /masters               a signed master signal's JSON (cohort.strategies.SignedMaster:
                                {"strategies", "chainId", "digest", "signature", "master"}) -> 202
                                {"id", "digest", "state"}; the same refusals, with unknown_strategy
                                for a strategies contract or strategy id this keeper does not know;
                                503 rpc_down while the node is away (not stored: submit it again)
    GET  /masters/{id}?wait=S   state, and each follower's outcome: filled (amount in and out),
                                zero, skipped (the vault's reason, in words), filled_by_other,
                                expired; with the chunks' transactions
    GET  /masters?state=&strategy=&limit=&offset=
    GET  /healthz               200 when it can send; 503 {"status": "breaker_open" | "rpc_down" |
                                "starting", ...} with the breaker's reason
    GET  /metrics               Prometheus: keeper_signals{state}, receipt-to-broadcast and
                                receipt-to-mined histograms, keeper_last_block, gas used and
                                spent, transactions sent and replaced, duty runs, breaker, RPC
    POST /breaker/reset         with the admin token (401 without it; 403 when none is configured)

Master signals: the keeper finds the strategy's followers among the vaults it serves (followState()
names the strategy, this keeper is one of the vault's keepers, shareFilled() is false), executes them
in chunks under the block gas limit at a floor price from a simulation, and records each follower's
outcome. A keeper restarted mid-batch settles the chunk in flight and sends only the rest.

States: received -> verified -> simulated -> submitted -> executed | executed_by_other |
rejected | failed | expired.

Command line
------------
    cohort-keeper submit signal.json [--url http://127.0.0.1:8547] [--wait 30]   # a master signal's
                                                  # JSON goes to POST /masters
    cohort-keeper submit signal.json --direct     # straight into the store; picked up by the keeper
    cohort-keeper list [--state executed] [--vault 0x..]
    cohort-keeper status 12
    cohort-keeper masters [3]                     # master signals; one with each follower's outcome
    cohort-keeper config                          # effective settings, secrets masked
"""

__version__ = "0.1.0"
