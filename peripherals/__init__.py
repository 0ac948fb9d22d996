"""Bench devices other than scanners: scales and label printers."""
