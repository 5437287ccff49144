"""Media storage on Cloudinary, through Django's Storage API.

Why a class of our own rather than django-cloudinary-storage: that package (last released
in 2020) breaks `collectstatic` on Django 5.1+ unless listed after staticfiles, and its
`exists`, `size` and `open` call Cloudinary's CDN directly. Avatars need four things: save,
delete, a URL and, rarely, the bytes back; the `cloudinary` SDK does each in one call, and
URLs are built locally without a request.

A stored name such as `avatars/3f2c...e1.webp` is the Cloudinary public id
`avatars/3f2c...e1` with its format as the extension.
"""

import posixpath
import urllib.request
from urllib.parse import parse_qsl, unquote, urlparse

import cloudinary
import cloudinary.uploader
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible


def _public_id(name: str) -> tuple[str, str]:
    root, extension = posixpath.splitext(name)
    return root, extension.lstrip(".")


@deconstructible
class CloudinaryStorage(Storage):
    """Images on Cloudinary (configured from CLOUDINARY_URL or the three CLOUDINARY_*)."""

    def __init__(
        self,
        url: str = "",
        cloud_name: str = "",
        api_key: str = "",
        api_secret: str = "",
        timeout: float = 30,
    ):
        self.timeout = timeout
        if url:
            # cloudinary://<api_key>:<api_secret>@<cloud_name>?<other options>
            parsed = urlparse(url)
            cloud_name = parsed.hostname or ""
            api_key, api_secret = unquote(parsed.username or ""), unquote(parsed.password or "")
            extra = dict(parse_qsl(parsed.query))
        else:
            extra = {}
        cloudinary.config(
            cloud_name=cloud_name, api_key=api_key, api_secret=api_secret, secure=True, **extra
        )

    def _save(self, name, content):
        public_id, extension = _public_id(name)
        content.seek(0)
        result = cloudinary.uploader.upload(
            content,
            public_id=public_id,
            resource_type="image",
            format=extension or None,
            overwrite=False,
            invalidate=True,
            timeout=self.timeout,
        )
        stored = result["public_id"]
        return f"{stored}.{result.get('format') or extension}" if extension else stored

    def get_available_name(self, name, max_length=None):
        # Avatar names are random (uuid4): a clash is impossible, so no lookup is spent on it.
        return name

    def delete(self, name):
        public_id, _ = _public_id(name)
        cloudinary.uploader.destroy(
            public_id, resource_type="image", invalidate=True, timeout=self.timeout
        )

    def url(self, name):
        public_id, extension = _public_id(name)
        return cloudinary.CloudinaryImage(public_id).build_url(
            format=extension or None, secure=True
        )

    def exists(self, name):
        # An https URL built by the SDK, never one from a client.
        request = urllib.request.Request(self.url(name), method="HEAD")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                return True
        except OSError:
            return False

    def _open(self, name, mode="rb"):
        with urllib.request.urlopen(self.url(name), timeout=self.timeout) as response:  # noqa: S310
            return ContentFile(response.read(), name=name)
