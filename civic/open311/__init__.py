"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): other city
systems, hotline software and apps read our categories as services, file
service requests into the same intake and workflow as everyone else, and follow
their status.

models.py    API keys (only a hash kept), managed by admins
services.py  services and their attributes from the category catalogue, filing a
             request, the public view of a case as a GeoReport request, the filters
formats.py   JSON and XML answers (the specification's roots and element names)
"""
