from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm

from accounts import services
from accounts.models import Role, User


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() in Role.values:
            return queryset.filter(is_staff=self.value() == Role.ADMIN)
        return queryset


class AccountChangeForm(UserChangeForm):
    role = forms.ChoiceField(
        choices=Role.choices, help_text="Admins have staff access to this site and the API."
    )

    class Meta(UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = self.instance.role

    def save(self, commit=True):
        self.instance.role = self.cleaned_data["role"]
        if self.cleaned_data.get("is_superuser"):
            self.instance.is_staff = True
        return super().save(commit=commit)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AccountChangeForm
    list_display = ["username", "email", "display_name", "role", "is_active", "date_joined"]
    list_filter = [RoleFilter, "is_active"]
    search_fields = ["username", "email", "display_name"]
    ordering = ["-date_joined"]
    # Pictures go through the API's pipeline (checked, stripped, re-encoded).
    readonly_fields = ["avatar", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["display_name", "email", "bio", "avatar"]}),
        ("Access", {"fields": ["role", "is_active", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]

    @admin.display(description="role")
    def role(self, user: User) -> str:
        return user.role

    def delete_model(self, request, obj):
        # With its posts, follows and notifications, and its avatar file.
        services.user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user=user)
