"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('accounts',
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('wallet', sa.String(length=78), nullable=False),
    sa.Column('request_epoch', sa.BigInteger(), nullable=False),
    sa.Column('request_units', sa.String(length=78), nullable=False),
    sa.Column('past_settled_shares', sa.String(length=78), nullable=False),
    sa.Column('past_settled_assets', sa.String(length=78), nullable=False),
    sa.Column('claimed_shares', sa.String(length=78), nullable=False),
    sa.Column('claimed_assets', sa.String(length=78), nullable=False),
    sa.Column('deposited_assets', sa.String(length=78), nullable=False),
    sa.Column('deposited_shares', sa.String(length=78), nullable=False),
    sa.Column('deposit_count', sa.BigInteger(), nullable=False),
    sa.Column('shares_in', sa.String(length=78), nullable=False),
    sa.Column('shares_out', sa.String(length=78), nullable=False),
    sa.Column('cost_basis', sa.String(length=78), nullable=False),
    sa.Column('realised_pnl', sa.String(length=79), nullable=False),
    sa.Column('fees_scaled', sa.String(length=79), nullable=False),
    sa.Column('fee_index', sa.String(length=78), nullable=False),
    sa.Column('last_position', sa.String(length=78), nullable=False),
    sa.Column('first_block', sa.BigInteger(), nullable=True),
    sa.Column('first_log_index', sa.Integer(), nullable=True),
    sa.Column('last_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('vault', 'address')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index('ix_accounts_address', ['address'], unique=False)

    op.create_table('blocks',
    sa.Column('number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_table('epochs',
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('epoch', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('units', sa.String(length=78), nullable=False),
    sa.Column('escrow', sa.String(length=78), nullable=False),
    sa.Column('remaining_ray', sa.String(length=78), nullable=False),
    sa.Column('assets_per_unit_ray', sa.String(length=78), nullable=False),
    sa.Column('requested', sa.String(length=78), nullable=False),
    sa.Column('canceled', sa.String(length=78), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('shares_burned', sa.String(length=78), nullable=False),
    sa.Column('assets_reserved', sa.String(length=78), nullable=False),
    sa.Column('last_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('vault', 'epoch')
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('tx_index', sa.Integer(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash', 'log_index', name='uq_events_tx_log'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_block', ['block_number'], unique=False)
        batch_op.create_index('ix_events_vault_position', ['vault', 'block_number', 'log_index'], unique=False)

    op.create_table('holdings',
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('token', sa.String(length=42), nullable=False),
    sa.Column('amount', sa.String(length=79), nullable=False),
    sa.PrimaryKeyConstraint('vault', 'token')
    )
    op.create_table('indexer_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('genesis_hash', sa.String(length=66), nullable=False),
    sa.Column('factory', sa.String(length=42), nullable=False),
    sa.Column('start_block', sa.BigInteger(), nullable=False),
    sa.Column('cursor_block', sa.BigInteger(), nullable=False),
    sa.Column('cursor_hash', sa.String(length=66), nullable=True),
    sa.Column('head_block', sa.BigInteger(), nullable=False),
    sa.Column('head_seen_at', sa.Float(), nullable=False),
    sa.Column('confirmations', sa.Integer(), nullable=False),
    sa.Column('reorg_count', sa.Integer(), nullable=False),
    sa.Column('last_reorg_block', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('nav_points',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.Column('nav', sa.String(length=78), nullable=False),
    sa.Column('supply', sa.String(length=78), nullable=False),
    sa.Column('price_per_share', sa.String(length=78), nullable=False),
    sa.Column('high_water_mark', sa.String(length=78), nullable=False),
    sa.Column('management_shares', sa.String(length=78), nullable=False),
    sa.Column('performance_shares', sa.String(length=78), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('nav_points', schema=None) as batch_op:
        batch_op.create_index('ix_nav_block', ['block_number'], unique=False)
        batch_op.create_index('ix_nav_vault_position', ['vault', 'block_number', 'log_index'], unique=False)

    op.create_table('positions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('account', sa.String(length=42), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('wallet', sa.String(length=78), nullable=False),
    sa.Column('pending', sa.String(length=78), nullable=False),
    sa.Column('position', sa.String(length=78), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index('ix_positions_account', ['vault', 'account', 'block_number', 'log_index'], unique=False)
        batch_op.create_index('ix_positions_block', ['block_number'], unique=False)

    op.create_table('tokens',
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.Column('known', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_table('trades',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.Column('token_in', sa.String(length=42), nullable=False),
    sa.Column('token_out', sa.String(length=42), nullable=False),
    sa.Column('amount_in', sa.String(length=78), nullable=False),
    sa.Column('amount_out', sa.String(length=78), nullable=False),
    sa.Column('oracle_amount_out', sa.String(length=78), nullable=False),
    sa.Column('limit_price', sa.String(length=78), nullable=True),
    sa.Column('loss', sa.String(length=78), nullable=True),
    sa.Column('keeper', sa.String(length=42), nullable=True),
    sa.Column('digest', sa.String(length=66), nullable=True),
    sa.Column('nonce', sa.String(length=78), nullable=True),
    sa.Column('supply', sa.String(length=78), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vault', 'seq', name='uq_trades_vault_seq')
    )
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.create_index('ix_trades_block', ['block_number'], unique=False)
        batch_op.create_index('ix_trades_vault_position', ['vault', 'block_number', 'log_index'], unique=False)

    op.create_table('vault_state',
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('config', sa.Text(), nullable=False),
    sa.Column('supply', sa.String(length=78), nullable=False),
    sa.Column('escrow', sa.String(length=78), nullable=False),
    sa.Column('reserved', sa.String(length=78), nullable=False),
    sa.Column('high_water_mark', sa.String(length=78), nullable=False),
    sa.Column('drawdown_reference', sa.String(length=78), nullable=False),
    sa.Column('last_nav', sa.String(length=78), nullable=False),
    sa.Column('last_supply', sa.String(length=78), nullable=False),
    sa.Column('last_pps', sa.String(length=78), nullable=False),
    sa.Column('last_block', sa.BigInteger(), nullable=False),
    sa.Column('accrual_nav', sa.String(length=78), nullable=False),
    sa.Column('fee_index', sa.String(length=78), nullable=False),
    sa.Column('management_shares', sa.String(length=78), nullable=False),
    sa.Column('performance_shares', sa.String(length=78), nullable=False),
    sa.Column('fee_value', sa.String(length=78), nullable=False),
    sa.Column('accruals', sa.BigInteger(), nullable=False),
    sa.Column('deposit_assets', sa.String(length=78), nullable=False),
    sa.Column('deposit_shares', sa.String(length=78), nullable=False),
    sa.Column('deposit_count', sa.BigInteger(), nullable=False),
    sa.Column('claimed_assets', sa.String(length=78), nullable=False),
    sa.Column('claimed_shares', sa.String(length=78), nullable=False),
    sa.Column('settled_assets', sa.String(length=78), nullable=False),
    sa.Column('settled_shares', sa.String(length=78), nullable=False),
    sa.Column('trade_count', sa.BigInteger(), nullable=False),
    sa.Column('event_count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('vault')
    )
    op.create_table('vaults',
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('asset', sa.String(length=42), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('creator', sa.String(length=42), nullable=False),
    sa.Column('admin', sa.String(length=42), nullable=False),
    sa.Column('salt', sa.String(length=66), nullable=False),
    sa.Column('created_block', sa.BigInteger(), nullable=False),
    sa.Column('created_tx', sa.String(length=66), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=True),
    sa.Column('params', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )



def downgrade() -> None:

    op.drop_table('vaults')
    op.drop_table('vault_state')
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.drop_index('ix_trades_vault_position')
        batch_op.drop_index('ix_trades_block')

    op.drop_table('trades')
    op.drop_table('tokens')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index('ix_positions_block')
        batch_op.drop_index('ix_positions_account')

    op.drop_table('positions')
    with op.batch_alter_table('nav_points', schema=None) as batch_op:
        batch_op.drop_index('ix_nav_vault_position')
        batch_op.drop_index('ix_nav_block')

    op.drop_table('nav_points')
    op.drop_table('indexer_state')
    op.drop_table('holdings')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_vault_position')
        batch_op.drop_index('ix_events_block')

    op.drop_table('events')
    op.drop_table('epochs')
    op.drop_table('blocks')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_address')

    op.drop_table('accounts')

