"""The stand-in Bot API and the offline `try` chat, shared by tests, benchmarks and people."""
