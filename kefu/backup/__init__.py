"""`kefu backup` / `kefu restore`: one consistent archive of the SQLite database and its blobs."""
