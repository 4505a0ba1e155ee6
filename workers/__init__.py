"""Celery application and tasks of Mura: OCR per page, PDF assembly, indexing, sweeping."""
