"""The REST compatibility layer under /api."""
