"""UI-free state machines of the warehouse workflows, driven by scans and user actions (no Qt here)."""
