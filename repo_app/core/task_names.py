"""Celery task names and their queues, in one place.

Services send tasks by name (``core.queue.enqueue_after_commit``) without importing the
worker's code; ``mura.workers.tasks`` registers each task under the same name, and
``mura.workers.celery_app`` routes them by :data:`QUEUE_OF`. A name is part of the messages
waiting in a broker: changing one strands the messages sent before.
"""

from __future__ import annotations

OCR_PAGE = "mura.workers.tasks.ocr_page"
ASSEMBLE_PDF = "mura.workers.tasks.assemble_pdf"
INDEX_JOB = "mura.workers.tasks.index_job"
REINDEX_DOCUMENT = "mura.workers.tasks.reindex_document"
SWEEP = "mura.workers.tasks.sweep"
CHECK_RIGHTS = "mura.workers.tasks.check_rights"
FIXITY_CHECK = "mura.workers.tasks.fixity_check"
RESTAMP_PDF = "mura.workers.tasks.restamp_pdf"
SEND_MAIL = "mura.workers.tasks.send_mail"

#: Queues by kind of work: OCR spreads over every worker; one process should consume `index`.
QUEUES = ("ocr", "pdf", "index", "mura")
#: The queue of each task.
QUEUE_OF = {
    OCR_PAGE: "ocr",
    ASSEMBLE_PDF: "pdf",
    INDEX_JOB: "index",
    REINDEX_DOCUMENT: "index",
    SWEEP: "mura",
    CHECK_RIGHTS: "mura",
    FIXITY_CHECK: "mura",
    RESTAMP_PDF: "pdf",
    SEND_MAIL: "mura",
}
