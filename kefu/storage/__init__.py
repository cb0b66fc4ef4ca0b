"""File storage: content-addressed blob stores (local directory, S3) and the upload pipeline."""
