"""The page pipeline: pure functions from an uploaded file to searchable PDF pages.

Works on files and plain data only; imports nothing from the Flask app, its models or
Celery. The Celery tasks in ``workers/tasks.py`` call:

* :func:`inspect_upload` -- what a file is and how many pages it contributes;
* :func:`process_page` -- one page -> single-page PDF, text, hOCR (raises PageError or
  TransientError);
* :func:`placeholder_page` -- the page that stands in for a failed one;
* :func:`assemble_pdf` -- the document from its page PDFs, with metadata.
"""

from __future__ import annotations

from .errors import PageError, TransientError
from .inputs import UploadInfo, inspect_upload
from .page import PageOptions, PageResult, process_page
from .pdf import DocumentMeta, assemble_pdf, placeholder_page

__all__ = [
    "DocumentMeta",
    "PageError",
    "PageOptions",
    "PageResult",
    "TransientError",
    "UploadInfo",
    "assemble_pdf",
    "inspect_upload",
    "placeholder_page",
    "process_page",
]
