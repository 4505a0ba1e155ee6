"""The catalogue: records and collections.

Records, MARC import, collections, metadata, citations, OAI-PMH (docs/catalogue.md).
"""
