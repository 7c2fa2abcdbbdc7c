"""Program mechanics: tiers, campaigns, sign-up, birthday and referral bonuses

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:02:50.462615

New tables: campaign, tier_change, bonus_grant, referral. The account gains its tier (a key
of the program's ladder, [rules] tiers), its referral code and whether a referral waits for
its first purchase; a profile, when its birthday was set; a promotion, the campaign it
announces. Ledger entries gain the kinds campaign, signup, birthday and referral, and a
campaign entry names its campaign. Existing accounts start with no tier: `pos-loyalty tiers
set` places them when a ladder is set, and a sale that reaches a threshold moves them up.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KINDS_BEFORE = ("kind IN ('earn', 'redeem', 'return_reverse', 'return_restore', 'void_reverse', "
                "'void_restore', 'hold', 'hold_release', 'adjust', 'expire', 'release', 'bonus')")
KINDS_NOW = ("kind IN ('earn', 'redeem', 'return_reverse', 'return_restore', 'void_reverse', "
             "'void_restore', 'hold', 'hold_release', 'adjust', 'expire', 'release', 'bonus', "
             "'campaign', 'signup', 'birthday', 'referral')")


def upgrade():
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('hours_from', sa.String(length=5), nullable=True),
    sa.Column('hours_until', sa.String(length=5), nullable=True),
    sa.Column('store_ids', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('skus', sa.JSON(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('min_basket_minor', sa.BigInteger(), nullable=False),
    sa.Column('first_purchase_only', sa.Boolean(), nullable=False),
    sa.Column('effect', sa.String(length=16), nullable=False),
    sa.Column('multiplier', sa.String(length=16), nullable=True),
    sa.Column('bonus_points', sa.BigInteger(), nullable=False),
    sa.Column('per_customer_limit', sa.Integer(), nullable=False),
    sa.Column('budget_points', sa.BigInteger(), nullable=False),
    sa.Column('points_given', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("effect IN ('multiplier', 'fixed')", name=op.f('ck_campaign_effect_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaign_ends_after_start')),
    sa.CheckConstraint('min_basket_minor >= 0 AND bonus_points >= 0 AND per_customer_limit >= 0 AND budget_points >= 0', name=op.f('ck_campaign_amounts_not_negative')),
    sa.CheckConstraint('points_given >= 0 AND (budget_points = 0 OR points_given <= budget_points)', name=op.f('ck_campaign_within_budget')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_campaign_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_program_id_ends_at', ['program_id', 'ends_at'], unique=False)

    op.create_table('bonus_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person', sa.String(length=80), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('signup', 'birthday', 'referral')", name=op.f('ck_bonus_grant_kind_known')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_bonus_grant_points_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_bonus_grant_account_id_account')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_bonus_grant_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonus_grant')),
    sa.UniqueConstraint('program_id', 'kind', 'person', 'period', name=op.f('uq_bonus_grant_program_id_kind_person_period'))
    )
    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('referrer_id', sa.Integer(), nullable=False),
    sa.Column('referee_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refusal', sa.String(length=40), nullable=True),
    sa.Column('sale_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'rewarded', 'refused')", name=op.f('ck_referral_status_known')),
    sa.CheckConstraint('referrer_id <> referee_id', name=op.f('ck_referral_not_self')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_referral_program_id_program')),
    sa.ForeignKeyConstraint(['referee_id'], ['account.id'], name=op.f('fk_referral_referee_id_account')),
    sa.ForeignKeyConstraint(['referrer_id'], ['account.id'], name=op.f('fk_referral_referrer_id_account')),
    sa.ForeignKeyConstraint(['sale_id'], ['sale.id'], name=op.f('fk_referral_sale_id_sale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    sa.UniqueConstraint('referee_id', name=op.f('uq_referral_referee_id'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_referrer_id'), ['referrer_id'], unique=False)

    op.create_table('tier_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('from_tier', sa.String(length=40), nullable=True),
    sa.Column('to_tier', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('measure', sa.BigInteger(), nullable=False),
    sa.Column('sale_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("reason IN ('reached', 'kept', 'lowered', 'return', 'set')", name=op.f('ck_tier_change_reason_known')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_tier_change_account_id_account')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_tier_change_program_id_program')),
    sa.ForeignKeyConstraint(['sale_id'], ['sale.id'], name=op.f('fk_tier_change_sale_id_sale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_change'))
    )
    with op.batch_alter_table('tier_change', schema=None) as batch_op:
        batch_op.create_index('ix_tier_change_account_id_id', ['account_id', 'id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('tier_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('referral_code', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('referral_pending', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('uq_account_program_id_referral_code', ['program_id', 'referral_code'], unique=True)

    with op.batch_alter_table('customer_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birthday_set_at', sa.DateTime(), nullable=True))

    # SQLite cannot change a CHECK in place: the batch rebuilds ledger_entry (the lots and
    # draws that refer to it keep their ids).
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entry_campaign_id_campaign'), 'campaign', ['campaign_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_ledger_entry_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_entry_kind_known'), KINDS_NOW)
        batch_op.create_check_constraint(
            op.f('ck_ledger_entry_campaign_entry_names_it'),
            "(kind = 'campaign') = (campaign_id IS NOT NULL)")

    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_promotion_campaign_id_campaign'), 'campaign', ['campaign_id'], ['id'])



def downgrade():
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_promotion_campaign_id_campaign'), type_='foreignkey')
        batch_op.drop_column('campaign_id')

    # The older code knows none of the new kinds: their entries become "bonus" (campaign,
    # sign-up, birthday and referral points stay in every balance).
    op.execute("UPDATE ledger_entry SET kind = 'bonus' "
               "WHERE kind IN ('campaign', 'signup', 'birthday', 'referral')")
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_entry_campaign_entry_names_it'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_entry_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_entry_kind_known'), KINDS_BEFORE)
        batch_op.drop_constraint(batch_op.f('fk_ledger_entry_campaign_id_campaign'), type_='foreignkey')
        batch_op.drop_column('campaign_id')

    # Not batch_alter_table: on SQLite it would rebuild the account table, which the cards and
    # the ledger refer to; SQLite 3.35 and later drop a plain column in place.
    op.drop_column('customer_profile', 'birthday_set_at')
    op.drop_index('uq_account_program_id_referral_code', table_name='account')
    for column in ('referral_pending', 'referral_code', 'tier_until', 'tier'):
        op.drop_column('account', column)

    with op.batch_alter_table('tier_change', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_change_account_id_id')

    op.drop_table('tier_change')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_referrer_id'))

    op.drop_table('referral')
    op.drop_table('bonus_grant')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_program_id_ends_at')

    op.drop_table('campaign')
