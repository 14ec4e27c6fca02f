"""Sinks consume a stream of items: the data lake (local, S3), the warehouse and a socket."""
