"""The version of the app and its API, shown to clients (GET /api/v1/client-config)
so that a phone can tell when a newer field app is being served."""
APP_VERSION = "0.4.0"
