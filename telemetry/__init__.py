"""Metrics (and, where configured, traces and slow-operation logs) of every layer."""
