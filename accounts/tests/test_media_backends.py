"""Avatars on each media backend: Cloudinary (the real SDK against a local stand-in for its
upload API), S3 (django-storages against moto's S3 server) and local files."""

import email.parser
import io
import json
import socket
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import cloudinary.utils
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from accounts.tests import images
from common.testing import client_for

pytestmark = pytest.mark.django_db(transaction=True)

AVATAR = "/api/users/me/avatar/"
CLOUD, KEY, SECRET = "demo-cloud", "123456789", "s3cr3t-api-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeCloudinary(BaseHTTPRequestHandler):
    """Cloudinary's upload API as far as avatars use it: upload and destroy."""

    calls: list
    fail = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = email.parser.BytesParser().parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        fields, files = {}, {}
        for part in message.get_payload():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename() is not None or name == "file":
                files[name] = part.get_payload(decode=True)
            else:
                fields[name] = part.get_payload(decode=True).decode()
        self.calls.append({"path": self.path, "fields": fields, "files": files})
        if self.fail:
            self._reply(500, {"error": {"message": "Internal error"}})
        elif self.path.endswith("/image/upload"):
            public_id = fields["public_id"]
            self._reply(
                200,
                {
                    "public_id": public_id,
                    "version": 1700000000,
                    "format": fields.get("format", "webp"),
                    "resource_type": "image",
                    "secure_url": f"https://res.cloudinary.com/{CLOUD}/image/upload/{public_id}",
                },
            )
        elif self.path.endswith("/image/destroy"):
            self._reply(200, {"result": "ok"})
        else:
            self._reply(404, {"error": {"message": "unknown action"}})

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def cloudinary_server(settings):
    handler = type("Handler", (FakeCloudinary,), {"calls": [], "fail": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "accounts.storage.CloudinaryStorage",
            "OPTIONS": {
                "url": f"cloudinary://{KEY}:{SECRET}@{CLOUD}"
                f"?upload_prefix=http://127.0.0.1:{server.server_port}"
            },
        },
    }
    yield handler
    server.shutdown()


def assert_signed(fields: dict) -> None:
    signed = {k: v for k, v in fields.items() if k not in {"signature", "api_key", "file"}}
    expected = cloudinary.utils.api_sign_request(signed, SECRET)
    assert fields["signature"] == expected
    assert fields["api_key"] == KEY
    assert abs(int(fields["timestamp"]) - time.time()) < 60


def test_cloudinary_upload_sends_a_signed_clean_webp(cloudinary_server, user):
    client = client_for(user)
    response = client.put(
        AVATAR, {"avatar": images.jpeg_with_gps_and_rotation()}, format="multipart"
    )
    assert response.status_code == 200, response.content
    (upload,) = cloudinary_server.calls
    assert upload["path"] == f"/v1_1/{CLOUD}/image/upload"
    assert_signed(upload["fields"])
    public_id = upload["fields"]["public_id"]
    assert public_id.startswith("avatars/") and "alice" not in public_id
    stored = Image.open(io.BytesIO(upload["files"]["file"]))
    assert stored.format == "WEBP"
    assert stored.size == (100, 100)
    assert not stored.getexif()
    assert b"Exif" not in upload["files"]["file"]
    user.refresh_from_db()
    assert user.avatar.name == f"{public_id}.webp"
    url = response.json()["avatar_url"]
    # Built locally by the SDK; "v1" is its default version segment for foldered ids.
    assert url == f"https://res.cloudinary.com/{CLOUD}/image/upload/v1/{public_id}.webp"


def test_cloudinary_replace_and_delete_destroy_the_old_image(cloudinary_server, user):
    client = client_for(user)
    client.put(AVATAR, {"avatar": images.picture()}, format="multipart")
    first = cloudinary_server.calls[0]["fields"]["public_id"]
    client.put(AVATAR, {"avatar": images.picture("JPEG")}, format="multipart")
    second = cloudinary_server.calls[1]["fields"]["public_id"]
    destroy = cloudinary_server.calls[2]
    assert destroy["path"] == f"/v1_1/{CLOUD}/image/destroy"
    assert destroy["fields"]["public_id"] == first
    assert_signed(destroy["fields"])
    assert client.delete(AVATAR).status_code == 204
    assert cloudinary_server.calls[3]["fields"]["public_id"] == second
    user.refresh_from_db()
    assert not user.avatar


def test_cloudinary_account_deletion_destroys_the_image(cloudinary_server, user):
    client = client_for(user)
    client.put(AVATAR, {"avatar": images.picture()}, format="multipart")
    public_id = cloudinary_server.calls[0]["fields"]["public_id"]
    assert client.delete("/api/users/me/").status_code == 204
    assert cloudinary_server.calls[-1]["path"].endswith("/image/destroy")
    assert cloudinary_server.calls[-1]["fields"]["public_id"] == public_id


def test_cloudinary_failure_is_503_and_saves_nothing(cloudinary_server, user):
    cloudinary_server.fail = True
    response = client_for(user).put(AVATAR, {"avatar": images.picture()}, format="multipart")
    assert response.status_code == 503
    assert "detail" in response.json()
    user.refresh_from_db()
    assert not user.avatar


def test_cloudinary_rejects_bad_images_before_any_upload(cloudinary_server, user):
    response = client_for(user).put(
        AVATAR, {"avatar": images.svg_with_script()}, format="multipart"
    )
    assert response.status_code == 400
    assert cloudinary_server.calls == []


@pytest.fixture
def s3(settings):
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    # moto keeps its state for the whole process: each test has a bucket of its own.
    bucket = f"avatars-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    yield client
    server.stop()


def keys(client) -> list[str]:
    return [
        item["Key"] for item in client.list_objects_v2(Bucket=client.bucket).get("Contents", [])
    ]


def test_s3_upload_serves_back_a_clean_webp(s3, user):
    client = client_for(user)
    response = client.put(
        AVATAR, {"avatar": images.jpeg_with_gps_and_rotation()}, format="multipart"
    )
    assert response.status_code == 200, response.content
    (key,) = keys(s3)
    assert key.startswith("avatars/") and key.endswith(".webp")
    url = response.json()["avatar_url"]
    assert url.startswith(f"{s3.meta.endpoint_url}/{s3.bucket}/{key}?")
    with urllib.request.urlopen(url, timeout=10) as served:  # noqa: S310 (the moto server)
        content = served.read()
    stored = Image.open(io.BytesIO(content))
    assert stored.format == "WEBP"
    assert not stored.getexif()


def test_s3_replace_delete_and_account_deletion_remove_objects(s3, user):
    client = client_for(user)
    client.put(AVATAR, {"avatar": images.picture()}, format="multipart")
    (first,) = keys(s3)
    client.put(AVATAR, {"avatar": images.picture("JPEG")}, format="multipart")
    (second,) = keys(s3)
    assert second != first
    client.delete(AVATAR)
    assert keys(s3) == []
    client.put(AVATAR, {"avatar": images.picture()}, format="multipart")
    assert len(keys(s3)) == 1
    assert client.delete("/api/users/me/").status_code == 204
    assert keys(s3) == []


def test_s3_failure_is_503_and_saves_nothing(s3, user, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such-bucket"},
        },
    }
    response = client_for(user).put(AVATAR, {"avatar": images.picture()}, format="multipart")
    assert response.status_code == 503
    user.refresh_from_db()
    assert not user.avatar


def test_local_storage_is_the_default(user):
    assert default_storage.__class__.__name__ == "FileSystemStorage"
    response = client_for(user).put(AVATAR, {"avatar": images.picture()}, format="multipart")
    assert response.json()["avatar_url"].startswith("http://testserver/media/avatars/")
