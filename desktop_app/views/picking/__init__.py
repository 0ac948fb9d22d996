"""The picking screens: start a batch, totes, one task at a time, short picks, the summary."""
