"""Infrastructure every feature uses.

The store for this app, the after-commit task queue, languages, import tallies.
"""
