"""The bulk image uploader: a durable queue of files and the transfers that empty it."""
