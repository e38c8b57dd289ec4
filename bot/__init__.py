"""Wiring: config, the Application factory, the CLI, and everything the bot sends unprompted."""
