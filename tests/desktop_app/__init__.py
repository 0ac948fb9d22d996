"""Tests of the desktop and handheld application."""
