"""Reliability tests: real client and server processes killed with SIGKILL at random points."""
