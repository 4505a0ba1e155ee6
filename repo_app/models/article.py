"""Where an article was printed: the regions of its source's pages that its pages are cut from."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mura.app.extensions import db
from mura.app.models.document import Document
from mura.app.models.page import Page


class ArticleRegion(db.Model):
    """One rectangle of a source page; the article's page ``position`` is its clipping.

    Coordinates are pixels of the stored page image (the master as stored, before any turn
    its EXIF asks for), origin top left. ``clip_x``/``clip_y`` are where the stored clipping
    starts: the region's own corner, or up to one JPEG block above and to the left of it when
    a JPEG master was cut losslessly (jpegtran cuts on block boundaries).
    """

    __tablename__ = "article_regions"
    __table_args__ = (UniqueConstraint("article_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The article (a document of one of ``ARTICLE_TYPES``).
    article_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    #: Reading order, 1-based: the article's page number of this clipping.
    position: Mapped[int] = mapped_column(Integer)
    #: The issue (or book) the region was cut from, and its page.
    source_document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    source_page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    w: Mapped[int] = mapped_column(Integer)
    h: Mapped[int] = mapped_column(Integer)
    clip_x: Mapped[int] = mapped_column(Integer)
    clip_y: Mapped[int] = mapped_column(Integer)

    article: Mapped[Document] = relationship(foreign_keys=[article_id])
    source_document: Mapped[Document] = relationship(foreign_keys=[source_document_id])
    source_page: Mapped[Page] = relationship(foreign_keys=[source_page_id])

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels of the stored page image."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)
