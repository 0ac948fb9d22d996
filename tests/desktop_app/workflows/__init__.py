"""Tests of the UI-free workflows, against the real reference API."""
