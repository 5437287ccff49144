import io
import random

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests import images
from common.testing import client_for

pytestmark = pytest.mark.django_db

AVATAR = "/api/users/me/avatar/"


def upload(client, file):
    return client.put(AVATAR, {"avatar": file}, format="multipart")


def stored_image(user) -> Image.Image:
    user.refresh_from_db()
    with default_storage.open(user.avatar.name) as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def test_upload_stores_a_normalised_square_webp(api, user):
    response = upload(api, images.picture("PNG", size=(900, 500)))
    assert response.status_code == 200
    url = response.json()["avatar_url"]
    assert url.startswith("http://testserver/media/avatars/") and url.endswith(".webp")
    image = stored_image(user)
    assert image.format == "WEBP"
    assert image.size == (400, 400)


def test_small_pictures_are_not_enlarged(api, user):
    assert upload(api, images.picture("JPEG", size=(120, 80))).status_code == 200
    assert stored_image(user).size == (80, 80)


def test_the_stored_name_is_random_and_says_nothing_of_the_user(api, user):
    upload(api, images.picture())
    first = stored_image(user) and user.avatar.name
    upload(api, images.picture())
    user.refresh_from_db()
    second = user.avatar.name
    assert first != second
    assert "alice" not in first.lower() and "picture" not in first
    assert len(first.split("/")[-1].split(".")[0]) == 32


def test_metadata_is_stripped_and_orientation_applied(api, user):
    original = images.jpeg_with_gps_and_rotation()
    assert Image.open(original).getexif().get_ifd(0x8825)  # the upload does carry GPS
    original.seek(0)
    assert upload(api, original).status_code == 200
    image = stored_image(user)
    assert not image.getexif()
    assert "exif" not in image.info and "xmp" not in image.info and "icc_profile" not in image.info
    with default_storage.open(user.avatar.name) as handle:
        raw = handle.read()
    assert b"CameraMaker" not in raw and b"Exif" not in raw


def test_orientation_is_applied_before_cropping():
    from accounts.images import prepare_avatar

    # Left half red, right half blue; EXIF says rotate 90 degrees clockwise for display, so
    # the displayed picture is red on top: a centre square crop keeps both colours.
    source = Image.new("RGB", (200, 100), (255, 0, 0))
    source.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    source.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    result = Image.open(
        io.BytesIO(prepare_avatar(SimpleUploadedFile("r.jpg", buffer.getvalue())).read())
    )
    assert result.size == (100, 100)
    top, bottom = result.getpixel((50, 10)), result.getpixel((50, 90))
    assert top[0] > 200 and top[2] < 60  # red on top
    assert bottom[2] > 200 and bottom[0] < 60  # blue below


def test_animated_gif_keeps_its_first_frame(api, user):
    assert upload(api, images.animated_gif()).status_code == 200
    image = stored_image(user)
    assert getattr(image, "n_frames", 1) == 1
    assert image.size == (64, 64)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (images.text_named_png, "valid"),
        (images.svg_with_script, "valid"),
        (images.html_with_png_header, "valid"),
        (images.truncated_png, "damaged"),
        (images.decompression_bomb, "pixels"),
    ],
)
def test_bad_files_are_rejected_and_nothing_is_stored(api, user, make, message):
    response = upload(api, make())
    assert response.status_code == 400
    assert message in response.json()["avatar"][0]
    user.refresh_from_db()
    assert not user.avatar
    assert not default_storage.exists("avatars") or not default_storage.listdir("avatars")[1]


def test_oversized_files_are_rejected(api, user, settings):
    settings.AVATAR_MAX_BYTES = 10_000
    noise = Image.frombytes("RGB", (100, 100), random.Random(1).randbytes(100 * 100 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 10_000
    response = upload(api, SimpleUploadedFile("big.png", buffer.getvalue()))
    assert response.status_code == 400
    assert "larger" in response.json()["avatar"][0]
    user.refresh_from_db()
    assert not user.avatar
    assert upload(api, images.picture(size=(50, 50))).status_code == 200


def test_the_pixel_limit_is_configurable(api, user, settings):
    settings.AVATAR_MAX_PIXELS = 100 * 100
    assert upload(api, images.picture(size=(101, 100))).status_code == 400
    assert upload(api, images.picture(size=(100, 100))).status_code == 200


def test_missing_or_empty_file_is_400(api):
    assert api.put(AVATAR, {}, format="multipart").status_code == 400
    assert upload(api, SimpleUploadedFile("empty.png", b"")).status_code == 400
    assert api.put(AVATAR, {"avatar": "text"}, format="multipart").status_code == 400


def test_json_body_is_415(api):
    assert api.put(AVATAR, {"avatar": "x"}, format="json").status_code == 415


def test_replacing_removes_the_old_file(api, user):
    upload(api, images.picture())
    user.refresh_from_db()
    first = user.avatar.name
    upload(api, images.picture("JPEG"))
    user.refresh_from_db()
    assert default_storage.exists(user.avatar.name)
    assert not default_storage.exists(first)


def test_delete_avatar_removes_the_file(api, user):
    upload(api, images.picture())
    user.refresh_from_db()
    name = user.avatar.name
    assert api.delete(AVATAR).status_code == 204
    user.refresh_from_db()
    assert not user.avatar
    assert not default_storage.exists(name)
    assert api.get("/api/users/me/").json()["avatar_url"] is None
    assert api.delete(AVATAR).status_code == 204


def test_deleting_the_account_removes_the_avatar(user, django_capture_on_commit_callbacks):
    client = client_for(user)
    upload(client, images.picture())
    user.refresh_from_db()
    name = user.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete("/api/users/me/").status_code == 204
    assert not default_storage.exists(name)


def test_avatar_is_served_back_with_debug_off(api, user, settings):
    settings.DEBUG = False
    url = upload(api, images.picture()).json()["avatar_url"]
    response = api.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(content)).format == "WEBP"


def test_avatar_url_appears_on_posts_and_profiles(api, user, other):
    url = upload(api, images.picture()).json()["avatar_url"]
    assert client_for(other).get("/api/users/alice/").json()["avatar_url"] == url
    post = api.post("/api/posts/", {"text": "hi"}, format="json").json()
    assert post["author"]["avatar_url"] == url


def test_a_store_failure_is_503_and_saves_nothing(api, user, monkeypatch):
    def broken_save(*args, **kwargs):
        raise ConnectionError("store down")

    monkeypatch.setattr(default_storage, "save", broken_save)
    response = upload(api, images.picture())
    assert response.status_code == 503
    user.refresh_from_db()
    assert not user.avatar


def test_an_announced_oversize_body_is_refused_before_it_is_read(api, user, settings):
    settings.AVATAR_MAX_BYTES = 1000
    response = api.generic(
        "PUT",
        AVATAR,
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(1000 + 64 * 1024 + 1),
    )
    assert response.status_code == 400
    assert "larger" in response.json()["avatar"][0]
