"""Digitization: from scan to OCR'd, reviewed document.

Ingest, scan jobs, the workflow, corrections, OCR quality, the demo (docs/workflow.md).
"""
