"""The local SQLite store: replica of server state and the device's own journal."""
