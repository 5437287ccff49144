from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import auth_urlpatterns, users_urlpatterns
from common import views as common_views
from web import views as web_views

api_urlpatterns = [
    path("auth/", include(auth_urlpatterns)),
    path("users/", include("follows.urls")),
    path("users/", include("posts.user_urls")),
    path("users/", include(users_urlpatterns)),
    path("", include("posts.urls")),
    path("notifications/", include("notifications.urls")),
    path("reports/", include("moderation.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    # The API first: it takes most requests, and no page's path starts with `api/`.
    path("api/", include(api_urlpatterns)),
    # The web client: server-rendered pages on the same services as the API.
    path("", web_views.home, name="home"),
    path("", include("web.urls")),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema")),
    path("admin/", admin.site.urls),
]

if settings.MEDIA_URL.startswith("/") and settings.STORAGES["default"]["BACKEND"].endswith(
    "FileSystemStorage"
):
    # Local media (the embedded default) is served by the app itself, DEBUG or not. The files
    # are pictures re-encoded by the avatar pipeline under random names.
    urlpatterns.append(
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$",
            common_views.media,
            name="media",
        )
    )

handler400 = common_views.bad_request
handler403 = common_views.permission_denied
handler404 = common_views.not_found
handler500 = common_views.server_error
