"""The data and its invariants: schema, migrations, and every query, with no Telegram types."""
