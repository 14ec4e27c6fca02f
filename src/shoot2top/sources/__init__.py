"""Sources emit a stream of items: lake replay now, the social platforms later."""
