"""The Floorhand desktop and handheld application (PySide6)."""
