"""Rights: what the public may see.

The publication rule, visibility, contracts, their import and drafts (docs/rights.md).
"""
