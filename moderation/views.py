from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.selectors import user_profile
from common.pagination import PageNumberPagination
from common.permissions import IsAdmin
from common.schema import BAD_REQUEST, FORBIDDEN, NOT_FOUND, THROTTLED
from moderation import selectors, services
from moderation.models import Report
from moderation.serializers import (
    ReportCreateSerializer,
    ReportFilterSerializer,
    ReportResolveSerializer,
    ReportSerializer,
)
from posts.selectors import post_get


class ReportListCreateView(generics.ListAPIView):
    serializer_class = ReportSerializer
    pagination_class = PageNumberPagination
    throttle_scope = "report"

    def get_permissions(self):
        if self.request.method == "GET":
            return [IsAdmin()]
        return super().get_permissions()

    def get_throttles(self):
        if self.request.method == "POST":
            return [ScopedRateThrottle()]
        return []

    def get_queryset(self):
        filters = ReportFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.report_queue(**filters.validated_data)

    @extend_schema(
        tags=["moderation"],
        summary="The report queue (admins)",
        description="Open reports first, newest first within each status; `?status=` and "
        "`?reason=` filter.",
        parameters=[ReportFilterSerializer],
        responses={200: ReportSerializer(many=True), 403: FORBIDDEN},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["moderation"],
        summary="Report an account or a post",
        description="Name a `user`, a `post`, or both, with a `reason`. Admins see it in their "
        "queue; the post's text is kept with the report.",
        request=ReportCreateSerializer,
        responses={201: ReportSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 429: THROTTLED},
    )
    def post(self, request):
        body = ReportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = post = None
        if "user" in data:
            user = user_profile(username=data["user"], viewer=request.user)
            if user is None:
                raise Http404
        if "post" in data:
            post = post_get(post_id=data["post"], viewer=request.user)
            if post is None:
                raise Http404
        report = services.report_create(
            reporter=request.user,
            user=user,
            post=post,
            reason=data["reason"],
            comment=data["comment"],
        )
        return Response(
            ReportSerializer(report, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ReportResolveView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        tags=["moderation"],
        summary="Resolve a report (admins)",
        description="`dismiss` it, `remove_post` (the post goes as if its author deleted it), "
        "or `suspend` the reported account (signed out everywhere, its posts hidden until it "
        "is reinstated with `PATCH /api/users/{username}/`). Who did it, when and how is "
        "kept. An already resolved report: `400`.",
        request=ReportResolveSerializer,
        responses={200: ReportSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        report = Report.objects.filter(pk=pk).first()
        if report is None:
            raise Http404
        body = ReportResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = services.report_resolve(report=report, admin=request.user, **body.validated_data)
        report = selectors.report_queue().get(pk=report.pk)
        return Response(ReportSerializer(report, context={"request": request}).data)
