"""The product's URLs plus `/bench/baseline/`: a trivial DRF list of 20 rows, the yardstick
the feed's throughput is compared with (same server, same authentication); and
`/bench/floor/`: a plain Django view answering `[]` with no database, through the same
middleware, the most any endpoint of this server could do."""

from django.http import HttpResponse
from django.urls import path
from rest_framework import generics, serializers

from accounts.models import User
from config.urls import urlpatterns as product_urlpatterns


class BaselineSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "display_name"]


class BaselineView(generics.ListAPIView):
    serializer_class = BaselineSerializer
    pagination_class = None

    def get_queryset(self):
        return User.objects.order_by("id")[:20]


def floor(request):
    return HttpResponse(b"[]", content_type="application/json")


urlpatterns = [
    *product_urlpatterns,
    path("bench/baseline/", BaselineView.as_view()),
    path("bench/floor/", floor),
]
