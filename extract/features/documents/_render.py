"""A document's pages as images, for models that read them (``images="pages"``).

PDF pages are rendered with PDFium (pypdfium2) at 150 dpi, enough for a vision model
to read body text; a scan or photo is sent as it is when it is a PNG or JPEG (other
formats, and each page of a TIFF, become PNG).
"""

from __future__ import annotations

import io

from extract.backends import Image
from extract.core._errors import UsageError

from ._document import Document

DPI = 150


def page_images(document: Document, dpi: int = DPI) -> tuple[Image, ...]:
    if document.source is None or document.kind not in ("pdf", "image"):
        raise UsageError(
            f'images="pages" needs a PDF or an image loaded with extract.load, not {document.kind}'
        )
    if document.kind == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(document.source)
        try:
            return tuple(
                _png(pdf[index].render(scale=dpi / 72).to_pil()) for index in range(len(pdf))
            )
        finally:
            pdf.close()
    image = Image.of(document.source)
    if image is not None and len(document.pages) == 1:
        return (image,)
    from PIL import Image as Picture
    from PIL import ImageSequence

    with Picture.open(io.BytesIO(document.source)) as picture:
        return tuple(_png(frame.copy()) for frame in ImageSequence.Iterator(picture))


def _png(picture: object) -> Image:
    out = io.BytesIO()
    picture.save(out, "PNG")  # type: ignore[attr-defined]
    return Image("image/png", out.getvalue())
