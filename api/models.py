"""Tables (SQLAlchemy 2). `events` and `blocks` are what the chain said; everything else is a
projection of `events` that the indexer keeps up to date in the same transaction and rebuilds
from `events` after a reorg. Amounts are 256-bit integers (`columns.UInt256`/`Int256`).

Every schema change is an Alembic migration in `api/migrations/versions`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from api.columns import Int256, UInt256

ADDRESS = String(42)
HASH = String(66)


class Base(DeclarativeBase):
    pass


class IndexerState(Base):
    """One row: where the indexer stands."""

    __tablename__ = "indexer_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    genesis_hash: Mapped[str] = mapped_column(HASH)  # a reset devnet keeps its chain id, not its genesis
    factory: Mapped[str] = mapped_column(ADDRESS)
    start_block: Mapped[int] = mapped_column(BigInteger)
    cursor_block: Mapped[int] = mapped_column(BigInteger)  # last block fully indexed
    cursor_hash: Mapped[str | None] = mapped_column(HASH, nullable=True)
    head_block: Mapped[int] = mapped_column(BigInteger, default=0)  # chain head when last polled
    head_seen_at: Mapped[float] = mapped_column(Float, default=0.0)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    reorg_count: Mapped[int] = mapped_column(Integer, default=0)
    last_reorg_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, default=0.0)


class Block(Base):
    """Hashes of the blocks the indexer relied on: each batch's last block and every block
    with a stored log. A stored hash that the chain no longer has is a reorg."""

    __tablename__ = "blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(HASH)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Event(Base):
    """Every log of the factory and the vaults, decoded. Unique on (tx hash, log index)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_events_tx_log"),
        Index("ix_events_vault_position", "vault", "block_number", "log_index"),
        Index("ix_events_block", "block_number"),
        {"sqlite_autoincrement": True},  # ids are never reused, even after a rollback
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str] = mapped_column(HASH)
    tx_index: Mapped[int] = mapped_column(Integer)
    log_index: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(ADDRESS)  # emitter
    vault: Mapped[str] = mapped_column(ADDRESS)  # the vault it concerns (VaultCreated: the new vault)
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)  # JSON, integers exact


class Vault(Base):
    __tablename__ = "vaults"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    asset: Mapped[str] = mapped_column(ADDRESS)
    name: Mapped[str] = mapped_column(Text)
    symbol: Mapped[str] = mapped_column(Text)
    creator: Mapped[str] = mapped_column(ADDRESS)
    admin: Mapped[str] = mapped_column(ADDRESS)
    salt: Mapped[str] = mapped_column(HASH)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_tx: Mapped[str] = mapped_column(HASH)
    created_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    params: Mapped[str] = mapped_column(Text)  # VaultCreated.params, JSON


class VaultState(Base):
    """A vault's book: totals, marks, fee index and its current parameters."""

    __tablename__ = "vault_state"

    vault: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    config: Mapped[str] = mapped_column(Text)  # JSON: roles, fees, limits, listed assets...
    supply: Mapped[int] = mapped_column(UInt256)
    escrow: Mapped[int] = mapped_column(UInt256)
    reserved: Mapped[int] = mapped_column(UInt256)
    high_water_mark: Mapped[int] = mapped_column(UInt256)
    drawdown_reference: Mapped[int] = mapped_column(UInt256)
    last_nav: Mapped[int] = mapped_column(UInt256)
    last_supply: Mapped[int] = mapped_column(UInt256)
    last_pps: Mapped[int] = mapped_column(UInt256)
    last_block: Mapped[int] = mapped_column(BigInteger)
    accrual_nav: Mapped[int] = mapped_column(UInt256)
    fee_index: Mapped[int] = mapped_column(UInt256)
    management_shares: Mapped[int] = mapped_column(UInt256)
    performance_shares: Mapped[int] = mapped_column(UInt256)
    fee_value: Mapped[int] = mapped_column(UInt256)
    accruals: Mapped[int] = mapped_column(BigInteger)
    deposit_assets: Mapped[int] = mapped_column(UInt256)
    deposit_shares: Mapped[int] = mapped_column(UInt256)
    deposit_count: Mapped[int] = mapped_column(BigInteger)
    claimed_assets: Mapped[int] = mapped_column(UInt256)
    claimed_shares: Mapped[int] = mapped_column(UInt256)
    settled_assets: Mapped[int] = mapped_column(UInt256)
    settled_shares: Mapped[int] = mapped_column(UInt256)
    trade_count: Mapped[int] = mapped_column(BigInteger)
    event_count: Mapped[int] = mapped_column(BigInteger)


class Holding(Base):
    __tablename__ = "holdings"

    vault: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    token: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    amount: Mapped[int] = mapped_column(Int256)


class Account(Base):
    """One investor's sub-account in one vault (see `api.ledger.state.Account`)."""

    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_address", "address"),)

    vault: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    wallet: Mapped[int] = mapped_column(UInt256)
    request_epoch: Mapped[int] = mapped_column(BigInteger)
    request_units: Mapped[int] = mapped_column(UInt256)
    past_settled_shares: Mapped[int] = mapped_column(UInt256)
    past_settled_assets: Mapped[int] = mapped_column(UInt256)
    claimed_shares: Mapped[int] = mapped_column(UInt256)
    claimed_assets: Mapped[int] = mapped_column(UInt256)
    deposited_assets: Mapped[int] = mapped_column(UInt256)
    deposited_shares: Mapped[int] = mapped_column(UInt256)
    deposit_count: Mapped[int] = mapped_column(BigInteger)
    shares_in: Mapped[int] = mapped_column(UInt256)
    shares_out: Mapped[int] = mapped_column(UInt256)
    cost_basis: Mapped[int] = mapped_column(UInt256)
    realised_pnl: Mapped[int] = mapped_column(Int256)
    fees_scaled: Mapped[int] = mapped_column(Int256)
    fee_index: Mapped[int] = mapped_column(UInt256)
    last_position: Mapped[int] = mapped_column(UInt256)
    first_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    first_log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_block: Mapped[int] = mapped_column(BigInteger)


class Epoch(Base):
    __tablename__ = "epochs"

    vault: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    units: Mapped[int] = mapped_column(UInt256)
    escrow: Mapped[int] = mapped_column(UInt256)
    remaining_ray: Mapped[int] = mapped_column(UInt256)
    assets_per_unit_ray: Mapped[int] = mapped_column(UInt256)
    requested: Mapped[int] = mapped_column(UInt256)
    canceled: Mapped[int] = mapped_column(UInt256)
    rounds: Mapped[int] = mapped_column(Integer)
    shares_burned: Mapped[int] = mapped_column(UInt256)
    assets_reserved: Mapped[int] = mapped_column(UInt256)
    last_block: Mapped[int] = mapped_column(BigInteger)


class Position(Base):
    """An account's position (wallet + pending shares) after each transaction that changed it."""

    __tablename__ = "positions"
    __table_args__ = (Index("ix_positions_account", "vault", "account", "block_number", "log_index"),
                      Index("ix_positions_block", "block_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vault: Mapped[str] = mapped_column(ADDRESS)
    account: Mapped[str] = mapped_column(ADDRESS)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    wallet: Mapped[int] = mapped_column(UInt256)
    pending: Mapped[int] = mapped_column(UInt256)
    position: Mapped[int] = mapped_column(UInt256)


class Trade(Base):
    """A signal trade (TradeExecuted) or a sale for the base asset (LiquiditySold)."""

    __tablename__ = "trades"
    __table_args__ = (UniqueConstraint("vault", "seq", name="uq_trades_vault_seq"),
                      Index("ix_trades_vault_position", "vault", "block_number", "log_index"),
                      Index("ix_trades_block", "block_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vault: Mapped[str] = mapped_column(ADDRESS)
    seq: Mapped[int] = mapped_column(BigInteger)  # 1, 2, ... within the vault
    kind: Mapped[str] = mapped_column(String(16))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(HASH)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    token_in: Mapped[str] = mapped_column(ADDRESS)
    token_out: Mapped[str] = mapped_column(ADDRESS)
    amount_in: Mapped[int] = mapped_column(UInt256)
    amount_out: Mapped[int] = mapped_column(UInt256)
    oracle_amount_out: Mapped[int] = mapped_column(UInt256)
    limit_price: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    loss: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    keeper: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    digest: Mapped[str | None] = mapped_column(HASH, nullable=True)
    nonce: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    supply: Mapped[int] = mapped_column(UInt256)


class NavPoint(Base):
    """NAV, supply and price per share as an accrual or a settlement reported them."""

    __tablename__ = "nav_points"
    __table_args__ = (Index("ix_nav_vault_position", "vault", "block_number", "log_index"),
                      Index("ix_nav_block", "block_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vault: Mapped[str] = mapped_column(ADDRESS)
    kind: Mapped[str] = mapped_column(String(16))
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    nav: Mapped[int] = mapped_column(UInt256)
    supply: Mapped[int] = mapped_column(UInt256)
    price_per_share: Mapped[int] = mapped_column(UInt256)
    high_water_mark: Mapped[int] = mapped_column(UInt256)
    management_shares: Mapped[int] = mapped_column(UInt256)
    performance_shares: Mapped[int] = mapped_column(UInt256)


class Token(Base):
    """ERC-20 metadata read once per token (a cache: not chain state that can reorg)."""

    __tablename__ = "tokens"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    symbol: Mapped[str] = mapped_column(Text)
    decimals: Mapped[int] = mapped_column(Integer)
    known: Mapped[bool] = mapped_column(Boolean, default=True)  # False: the calls failed


# ---------------------------------------------------------------------------- strategies (MAM)
class Strategy(Base):
    """A strategy of the protocol's CohortStrategies: StrategyCreated, then StrategyManagerChanged."""

    __tablename__ = "strategies"

    strategy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(ADDRESS)
    manager: Mapped[str] = mapped_column(ADDRESS)
    name: Mapped[str] = mapped_column(Text)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_tx: Mapped[str] = mapped_column(HASH)
    created_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    manager_block: Mapped[int] = mapped_column(BigInteger)  # the manager is the manager since this block
    manager_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class StrategyFollow(Base):
    """One period of a vault following a strategy: StrategyFollowed until StrategyUnfollowed (or
    the vault's next StrategyFollowed, which replaces it)."""

    __tablename__ = "strategy_follows"
    __table_args__ = (Index("ix_strategy_follows_strategy", "strategy_id", "followed_block"),)

    vault: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    followed_block: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    followed_log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    strategy_id: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(Text)  # FollowRule, JSON (camelCase, integers exact)
    followed_tx: Mapped[str] = mapped_column(HASH)
    followed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ended_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class MasterExecution(Base):
    """One executed chunk of a master signal (MasterExecuted) with the signal from its calldata."""

    __tablename__ = "master_executions"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_master_executions_tx_log"),
                      Index("ix_master_executions_strategy", "strategy_id", "block_number", "log_index"),
                      Index("ix_master_executions_digest", "digest"),
                      Index("ix_master_executions_block", "block_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy_id: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[int] = mapped_column(UInt256)
    digest: Mapped[str] = mapped_column(HASH)
    keeper: Mapped[str] = mapped_column(ADDRESS)
    token_in: Mapped[str] = mapped_column(ADDRESS)
    token_out: Mapped[str] = mapped_column(ADDRESS)
    total_in: Mapped[int] = mapped_column(UInt256)
    total_out: Mapped[int] = mapped_column(UInt256)
    floor_price: Mapped[int] = mapped_column(UInt256)
    filled: Mapped[int] = mapped_column(BigInteger)
    skipped: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(HASH)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    signal: Mapped[str | None] = mapped_column(Text, nullable=True)  # MasterSignal JSON (None: not a direct call)


class StrategyFill(Base):
    """A follower's part of one master execution: its StrategyAllocated and, when it traded, its
    TradeExecuted in the same transaction (amount_out None: the allocation rounded to no lot)."""

    __tablename__ = "strategy_fills"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_strategy_fills_tx_log"),
                      Index("ix_strategy_fills_master", "strategy_id", "nonce"),
                      Index("ix_strategy_fills_block", "block_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy_id: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[int] = mapped_column(UInt256)
    vault: Mapped[str] = mapped_column(ADDRESS)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)  # the StrategyAllocated log
    tx_hash: Mapped[str] = mapped_column(HASH)
    token_in: Mapped[str] = mapped_column(ADDRESS)
    allocated: Mapped[int] = mapped_column(UInt256)  # StrategyAllocated.amountIn
    residual: Mapped[int] = mapped_column(UInt256)
    capped: Mapped[int] = mapped_column(UInt256)
    trade_log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)  # its TradeExecuted
    token_out: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    amount_in: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    amount_out: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    oracle_amount_out: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    limit_price: Mapped[int | None] = mapped_column(UInt256, nullable=True)
    digest: Mapped[str | None] = mapped_column(HASH, nullable=True)


class StrategySkip(Base):
    """A follower left out of a master execution (FollowerSkipped), with its revert data."""

    __tablename__ = "strategy_skips"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_strategy_skips_tx_log"),
                      Index("ix_strategy_skips_master", "strategy_id", "nonce"),
                      Index("ix_strategy_skips_block", "block_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy_id: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[int] = mapped_column(UInt256)
    vault: Mapped[str] = mapped_column(ADDRESS)
    reason: Mapped[str] = mapped_column(Text)  # revert data, 0x-hex
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(HASH)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
