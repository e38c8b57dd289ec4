"""Conversations, one module per flow: parse the update, check who asks, call storage, reply."""
