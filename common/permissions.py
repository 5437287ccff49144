from rest_framework.permissions import BasePermission


class IsAdmin(BasePermission):
    """Accounts with the admin role (staff access)."""

    message = "Only admins may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
