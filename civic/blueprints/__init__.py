"""One blueprint per audience or concern; thin views over the services."""
