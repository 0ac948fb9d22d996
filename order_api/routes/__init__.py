"""HTTP routes of the reference API, one module per area."""
