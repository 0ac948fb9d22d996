"""The one place Floorhand's version number is written; the package metadata and the bundle read it from here."""

VERSION = "0.1.0"
