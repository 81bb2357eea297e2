"""The demo county: realistic data for trying the app and for dashboards."""
