-- /report over years of history (bench/activities.py: a million ledger entries): the givers'
-- hours and the counted exchanges are read from indexes alone, never from the tables' pages.
-- Each index replaces a narrower one that it serves just as well.
DROP INDEX ledger_transactions_created;
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at, exchange_id, kind);

DROP INDEX ledger_entries_transaction;
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id, account_id, minutes);

DROP INDEX ledger_entries_account;
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, minutes, transaction_id);
