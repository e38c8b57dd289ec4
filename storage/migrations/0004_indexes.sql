-- Found by bench/handlers.py: a confirm counted an exchange's ledger transactions by scanning
-- the whole table.
CREATE INDEX ledger_transactions_exchange ON ledger_transactions (exchange_id);
