"""Cases, their audit trail, deadlines and the services that open them."""
