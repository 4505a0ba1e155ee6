"""The store for scans, PDFs and OCR output: content-addressed, checksummed, never overwritten.

This package imports nothing of the application above it.
"""

from mura.storage.store import FilesystemStore, Store, StoredObject, StoreError

__all__ = ["FilesystemStore", "Store", "StoreError", "StoredObject"]
