"""strategies: CohortStrategies and the vaults' follower events (MAM)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('master_executions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('strategy_id', sa.BigInteger(), nullable=False),
    sa.Column('nonce', sa.String(length=78), nullable=False),
    sa.Column('digest', sa.String(length=66), nullable=False),
    sa.Column('keeper', sa.String(length=42), nullable=False),
    sa.Column('token_in', sa.String(length=42), nullable=False),
    sa.Column('token_out', sa.String(length=42), nullable=False),
    sa.Column('total_in', sa.String(length=78), nullable=False),
    sa.Column('total_out', sa.String(length=78), nullable=False),
    sa.Column('floor_price', sa.String(length=78), nullable=False),
    sa.Column('filled', sa.BigInteger(), nullable=False),
    sa.Column('skipped', sa.BigInteger(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.Column('signal', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash', 'log_index', name='uq_master_executions_tx_log')
    )
    with op.batch_alter_table('master_executions', schema=None) as batch_op:
        batch_op.create_index('ix_master_executions_block', ['block_number'], unique=False)
        batch_op.create_index('ix_master_executions_digest', ['digest'], unique=False)
        batch_op.create_index('ix_master_executions_strategy', ['strategy_id', 'block_number', 'log_index'],
                              unique=False)

    op.create_table('strategies',
    sa.Column('strategy_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner', sa.String(length=42), nullable=False),
    sa.Column('manager', sa.String(length=42), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('created_block', sa.BigInteger(), nullable=False),
    sa.Column('created_tx', sa.String(length=66), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=True),
    sa.Column('manager_block', sa.BigInteger(), nullable=False),
    sa.Column('manager_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('strategy_id')
    )
    op.create_table('strategy_fills',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('strategy_id', sa.BigInteger(), nullable=False),
    sa.Column('nonce', sa.String(length=78), nullable=False),
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('token_in', sa.String(length=42), nullable=False),
    sa.Column('allocated', sa.String(length=78), nullable=False),
    sa.Column('residual', sa.String(length=78), nullable=False),
    sa.Column('capped', sa.String(length=78), nullable=False),
    sa.Column('trade_log_index', sa.Integer(), nullable=True),
    sa.Column('token_out', sa.String(length=42), nullable=True),
    sa.Column('amount_in', sa.String(length=78), nullable=True),
    sa.Column('amount_out', sa.String(length=78), nullable=True),
    sa.Column('oracle_amount_out', sa.String(length=78), nullable=True),
    sa.Column('limit_price', sa.String(length=78), nullable=True),
    sa.Column('digest', sa.String(length=66), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash', 'log_index', name='uq_strategy_fills_tx_log')
    )
    with op.batch_alter_table('strategy_fills', schema=None) as batch_op:
        batch_op.create_index('ix_strategy_fills_block', ['block_number'], unique=False)
        batch_op.create_index('ix_strategy_fills_master', ['strategy_id', 'nonce'], unique=False)

    op.create_table('strategy_follows',
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('followed_block', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('followed_log_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('strategy_id', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('followed_tx', sa.String(length=66), nullable=False),
    sa.Column('followed_at', sa.BigInteger(), nullable=True),
    sa.Column('ended_block', sa.BigInteger(), nullable=True),
    sa.Column('ended_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('vault', 'followed_block', 'followed_log_index')
    )
    with op.batch_alter_table('strategy_follows', schema=None) as batch_op:
        batch_op.create_index('ix_strategy_follows_strategy', ['strategy_id', 'followed_block'], unique=False)

    op.create_table('strategy_skips',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('strategy_id', sa.BigInteger(), nullable=False),
    sa.Column('nonce', sa.String(length=78), nullable=False),
    sa.Column('vault', sa.String(length=42), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tx_hash', 'log_index', name='uq_strategy_skips_tx_log')
    )
    with op.batch_alter_table('strategy_skips', schema=None) as batch_op:
        batch_op.create_index('ix_strategy_skips_block', ['block_number'], unique=False)
        batch_op.create_index('ix_strategy_skips_master', ['strategy_id', 'nonce'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('strategy_skips', schema=None) as batch_op:
        batch_op.drop_index('ix_strategy_skips_master')
        batch_op.drop_index('ix_strategy_skips_block')

    op.drop_table('strategy_skips')
    with op.batch_alter_table('strategy_follows', schema=None) as batch_op:
        batch_op.drop_index('ix_strategy_follows_strategy')

    op.drop_table('strategy_follows')
    with op.batch_alter_table('strategy_fills', schema=None) as batch_op:
        batch_op.drop_index('ix_strategy_fills_master')
        batch_op.drop_index('ix_strategy_fills_block')

    op.drop_table('strategy_fills')
    op.drop_table('strategies')
    with op.batch_alter_table('master_executions', schema=None) as batch_op:
        batch_op.drop_index('ix_master_executions_strategy')
        batch_op.drop_index('ix_master_executions_digest')
        batch_op.drop_index('ix_master_executions_block')

    op.drop_table('master_executions')

