"""Users, roles, device tokens and login."""
