"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): other city
systems, hotline software and apps read our categories as services, file
service requests into the same intake and workflow as everyone else, and follow
their status.

models.py     API keys (only a hash kept)
keys.py       making, finding and revoking them
catalogue.py  services and their attributes from the category catalogue
forms.py      a POSTed request, checked field by field
filing.py     filing it through the one intake (intake/reports.py open_report)
public.py     a case as a GeoReport request, as the public board shows it; the filters
formats.py    JSON and XML answers (the specification's roots and element names), Open311Error
views.py      the routes under /open311/v2/; key_views.py: the administrators' keys page
"""
