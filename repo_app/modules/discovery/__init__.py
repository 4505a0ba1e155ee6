"""Discovery: what readers find and read.

Search results, the reader, IIIF, readers' copy requests (docs/discovery.md).
"""
