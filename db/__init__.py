"""Database layer: models, engine and session factories, the driver path, the embedded server,
migrations."""
