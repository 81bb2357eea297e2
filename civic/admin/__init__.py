"""Administration: what a county's administrators do day to day without a developer.

models.py    the audit log (append-only: an entry is never changed)
audit.py     recording a change (who, when, from where, what, before and after) and reading the log
people.py    importing staff from a spreadsheet (checked row by row first), deactivating and
             reactivating accounts, one-time passwords
tables.py    reading XLSX and CSV (GBK too) as rows with the row numbers the spreadsheet shows
views.py     the pages under /admin/ (civic/routes.py: administrators; supervisors may read)
"""
