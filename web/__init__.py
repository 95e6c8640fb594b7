"""HTTP plumbing shared by every route: logging, middleware, health checks."""
