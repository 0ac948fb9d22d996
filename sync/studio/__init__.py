"""The photo studio's plain-Python parts: the capture folder and the checks of a capture."""
