"""Administration: what a county's administrators do day to day without a developer.

models.py    the audit log (append-only: an entry is never changed)
audit.py     recording a change (who, when, from where, what, before and after) and reading the log
people.py    importing staff from a spreadsheet (checked row by row first), deactivating and
             reactivating accounts, one-time passwords
tables.py    reading XLSX and CSV (GBK too) as rows with the row numbers the spreadsheet shows
views.py     the pages under /admin/ (civic/routes.py: administrators; supervisors may read)
categories.py     the category catalogue: one category's settings, the whole catalogue as XLSX and back
routing_admin.py  the routing table (谁主管谁负责): set and delete rules, XLSX out and in, "who would get this?"
routing_views.py  their pages under /admin/ (categories, routing); routing_api.py GET /api/v1/routing/preview
commands.py       `flask categories …` and `flask routing …`
"""
