"""The supervisor's device fleet screen."""
