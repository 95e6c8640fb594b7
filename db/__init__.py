"""Database layer: models, engine and sessions, the embedded server, migrations, loaders."""
