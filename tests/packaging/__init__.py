"""Tests of the PyInstaller bundle and the Linux package, run from the built artefacts."""
