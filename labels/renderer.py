"""``PdfLabelRenderer``: the one object the services use to print — labels (PDF or ZPL), slips, handover records."""

from __future__ import annotations

from collections.abc import Sequence

from labels.consignment_label import PDF_AUTHOR, nfc, render_label_pages
from labels.handover import render_handover
from labels.report import render_report
from labels.slip import render_slip
from postal_bridge.domain.labels import HandoverContent, LabelContent, SlipContent
from postal_bridge.domain.reports import ReportContent


class PdfLabelRenderer:
    """Labels (100×150 mm), the Phiếu gửi hồ sơ (A5) and the Biên bản giao nhận (A4). Same conventions throughout:
    embedded DejaVu, NFC text, compressed pages, title/author metadata, rendering under ``labels.fonts.RENDER_LOCK``."""

    def __init__(self, *, author: str = PDF_AUTHOR) -> None:
        self._author = author

    def render_label(self, content: LabelContent) -> bytes:
        return render_label_pages([content], title=f"Nhãn gửi {nfc(content.tracking_code)}", author=self._author)

    def render_labels(self, contents: Sequence[LabelContent]) -> bytes:
        """All labels in ONE document, one per page, in the given order."""
        contents = list(contents)
        if not contents:
            raise ValueError("render_labels needs at least one label")
        if len(contents) == 1:
            return self.render_label(contents[0])
        return render_label_pages(contents, title=f"Nhãn gửi ({len(contents)} nhãn)", author=self._author)

    def render_label_zpl(self, content: LabelContent, dpi: int = 203) -> str:
        """One label as ZPL (``^XA`` … ``^XZ``) for a Zebra-compatible thermal printer at ``dpi`` (203 or 300):
        the PDF page rasterised 1:1 into a Z64 ``^GF`` graphic (see :mod:`labels.zpl`)."""
        from labels.zpl import check_dpi, pdf_to_zpl  # zebrafy + PDFium only load when ZPL is asked for

        check_dpi(dpi)  # before rendering anything
        return pdf_to_zpl(self.render_label(content), dpi)

    def render_labels_zpl(self, contents: Sequence[LabelContent], dpi: int = 203) -> str:
        """All labels as ZPL, one ``^XA`` … ``^XZ`` block per label, in the given order."""
        from labels.zpl import check_dpi, pdf_to_zpl

        check_dpi(dpi)
        return pdf_to_zpl(self.render_labels(contents), dpi)

    def render_slip(self, content: SlipContent) -> bytes:
        return render_slip(content, author=self._author)

    def render_handover(self, content: HandoverContent) -> bytes:
        return render_handover(content, author=self._author)

    def render_report(self, content: ReportContent) -> bytes:
        """A report of the province's figures or the Circular 17/2017 Art 13 periodic report (A4)."""
        return render_report(content, author=self._author)
