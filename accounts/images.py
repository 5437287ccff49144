"""The avatar pipeline: trust nothing about an upload but what Pillow decodes from it.

Checks, in order: the byte size (before decoding anything), the format (decoded from the
content: JPEG, PNG, WebP or GIF), the pixel count from the header (before the pixels are
decoded, so a decompression bomb costs nothing) and a full decode (truncated files fail).
The stored file is re-encoded from pixels only: no EXIF, GPS or other metadata survives;
orientation is applied; the picture is centre-cropped to a square of at most AVATAR_SIZE
pixels and saved as WebP. Animated GIFs keep their first frame.
"""

import io
import uuid
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
OUTPUT_FORMAT = "WEBP"
OUTPUT_EXTENSION = "webp"


def avatar_file_name() -> str:
    """A fresh random name: it cannot collide and says nothing about the account."""
    return f"avatars/{uuid.uuid4().hex}.{OUTPUT_EXTENSION}"


def _reject(message: str) -> ValidationError:
    return ValidationError({"avatar": [message]})


def prepare_avatar(upload) -> ContentFile:
    """Return the normalised picture to store, or raise ValidationError for the `avatar` field."""
    max_bytes = settings.AVATAR_MAX_BYTES
    if upload.size > max_bytes:
        raise _reject(f"The file is larger than {max_bytes // 1024} KiB.")
    max_pixels = settings.AVATAR_MAX_PIXELS
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns (then raises) on huge images; our own limit is checked first.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=sorted(ALLOWED_FORMATS))
            width, height = image.size
            if width * height > max_pixels:
                raise _reject(f"The picture has more than {max_pixels} pixels.")
            if width < 1 or height < 1:
                raise _reject("The picture is empty.")
            image.seek(0)
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (on the header, before decoding) fired first.
        raise _reject(f"The picture has more than {max_pixels} pixels.") from None
    except UnidentifiedImageError:
        raise _reject("Upload a valid JPEG, PNG, WebP or GIF picture.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _reject("The picture is damaged or truncated.") from exc

    image = ImageOps.exif_transpose(image)
    image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    side = min(image.width, image.height, settings.AVATAR_SIZE)
    image = ImageOps.fit(image, (side, side), method=Image.Resampling.LANCZOS)

    # Saved from pixels only: derived images inherit the original's info (exif, icc, xmp),
    # which some encoders write back, so it is dropped.
    image.info.clear()
    buffer = io.BytesIO()
    image.save(buffer, OUTPUT_FORMAT, quality=85, method=4)
    return ContentFile(buffer.getvalue())


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )
