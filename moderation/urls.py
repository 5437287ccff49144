from django.urls import path

from moderation import views

urlpatterns = [
    path("", views.ReportListCreateView.as_view(), name="report-list"),
    path("<int:pk>/resolve/", views.ReportResolveView.as_view(), name="report-resolve"),
]
