"""The data lake: layout, storage (local or S3), reading and inspecting micro-batches."""
