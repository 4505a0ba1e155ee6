"""Preservation formats served over HTTP (ALTO per page)."""
