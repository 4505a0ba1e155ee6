"""Preservation: files that outlive Mura.

BagIt bags, fixity checks, backup and restore (docs/backup.md).
"""
