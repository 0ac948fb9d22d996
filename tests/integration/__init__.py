"""End-to-end tests: the installed programs as separate processes, driven from outside."""
