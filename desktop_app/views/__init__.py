"""Widgets of the desktop app, one sub-package per workflow plus shared widgets."""
