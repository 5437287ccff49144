"""The product's URLs plus the yardsticks the read path is measured against (same server,
same middleware; the DRF views with the product's authentication, permissions and
renderer):

- `/bench/baseline/`: a trivial DRF list of 20 rows, the yardstick the feed's throughput is
  compared with;
- `/bench/floor/`: a plain Django view answering `[]` with no database, the most any
  endpoint of this server could do;
- `/bench/empty/`: a DRF view answering `[]`, its account checked as every request's is
  (one statement): the most any DRF endpoint of this server could do;
- `/bench/statement/`: the same, running the home feed's one statement (its page of 21
  rows, the account's state folded in, as the feed runs it) and throwing its rows away:
  the most a feed answered by DRF from that statement could do, before its rows are
  built, paginated and rendered.
"""

from django.http import HttpResponse
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import authentication
from accounts.models import User
from common.pagination import CursorPagination
from config.urls import urlpatterns as product_urlpatterns
from posts import selectors


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


class EmptyView(APIView):
    def get(self, request):
        return Response([])


class _UnreadRows(selectors.PostRows):
    """A list of posts whose rows are fetched and left as they came."""

    def read_row(self, values):
        return values


class FeedStatementView(authentication.CheckAheadMixin, APIView):
    def get(self, request):
        feed = selectors.feed_for(user=request.user)
        rows = _UnreadRows(feed.source, feed.params, viewer_id=feed.viewer_id)
        # What FeedView's pagination asks of its rows: the first page and one more.
        rows.order_by("-post_id")[: CursorPagination.page_size + 1]
        return Response([])


urlpatterns = [
    *product_urlpatterns,
    path("bench/baseline/", BaselineView.as_view()),
    path("bench/floor/", floor),
    path("bench/empty/", EmptyView.as_view()),
    path("bench/statement/", FeedStatementView.as_view()),
]
