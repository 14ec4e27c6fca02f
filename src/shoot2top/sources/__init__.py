"""Sources emit a stream of items: lake replay and the social platforms (X, YouTube, Facebook)."""
