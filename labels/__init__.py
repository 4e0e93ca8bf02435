"""Consignment label rendering: :class:`LabelContent` (pure domain data) in, 100×150 mm PDF bytes out.

Depends only on ``postal_bridge.domain``, reportlab, segno and the vendored DejaVu fonts in ``labels/ttf/``
(registered lazily, once per process, on the first render).
"""

from labels.consignment_label import PAGE_HEIGHT, PAGE_WIDTH, PdfLabelRenderer

__all__ = ["PAGE_HEIGHT", "PAGE_WIDTH", "PdfLabelRenderer"]
