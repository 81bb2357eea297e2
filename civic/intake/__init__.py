"""Idempotent intake of reports from devices."""
