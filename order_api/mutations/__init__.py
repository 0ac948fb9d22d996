"""Server-side handlers of pushed mutations: one module per workflow, listed in registry.py."""
