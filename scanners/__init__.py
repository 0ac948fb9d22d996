"""Barcode scanners: scan sources and classification of what was scanned; knows nothing of workflows."""
