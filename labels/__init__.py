"""Rendering only: domain data in, document bytes out — the 100×150 mm label (PDF, or ZPL via ``labels.zpl``), the
Phiếu gửi hồ sơ (A5, ``labels.slip``) and the Biên bản giao nhận (A4, ``labels.handover``).

Depends only on ``postal_bridge.domain``, reportlab, segno (zebrafy for ZPL) and the vendored DejaVu fonts in
``labels/ttf/`` (registered lazily, once per process, on the first render).
"""

from labels.consignment_label import PAGE_HEIGHT, PAGE_WIDTH
from labels.renderer import PdfLabelRenderer

__all__ = ["PAGE_HEIGHT", "PAGE_WIDTH", "PdfLabelRenderer"]
