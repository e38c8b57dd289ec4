"""What a member sees: the message catalogue, keyboards, callback data, rendering, the
command table and charts. Pure: no sending, no SQL."""
