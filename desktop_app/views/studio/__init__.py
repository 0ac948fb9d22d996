"""The photo studio's screen: the active SKU, the shot list, the samples here, and shot review."""
