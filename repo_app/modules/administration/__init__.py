"""Administration: people and figures.

Accounts, the audit log, the annual report, the dashboard and its charts (docs/report.md).
"""
