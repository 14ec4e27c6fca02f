"""The deterministic sample: generated items in the platforms' wire shapes (`generate`)
and the lake production would have made of them (`lake`)."""
