"""Sinks consume a stream of items: the data lake (local, S3) and, later, the warehouse."""
