-- Spending hours with partners (storage/partners.py): who is told what when a member asks to
-- spend hours on an organisation's offer, and an index that keeps /report quick.
-- ref_id is the spend's id in each.
INSERT INTO outbox_kinds (kind) VALUES
    ('spend_asked'),      -- to each member acting for the organisation: confirm, or can't
    ('spend_confirmed'),  -- to the member: done, and their new balance
    ('spend_declined');   -- to the member, kindly: not this time, their hours untouched

-- /report reads the ledger by period: transactions by time, so a month's figures never scan
-- every transaction there ever was.
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at);
