from django.contrib import admin


class UsernameInputFilter(admin.SimpleListFilter):
    """A list filter with a text box for a username (a choice list of every user would not
    scale). Subclasses set `title`, `parameter_name` and `field`."""

    template = "admin/input_filter.html"
    field = ""

    def lookups(self, request, model_admin):
        # A single dummy choice makes the admin render the filter.
        return [("", "")]

    def choices(self, changelist):
        # Carries the other active filters into the form as hidden inputs.
        query_parts = [
            (key, value)
            for key, values in changelist.get_filters_params().items()
            if key != self.parameter_name
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {"query_parts": query_parts}

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.field}__username__iexact": self.value().strip()})
        return queryset


class ModerationAdmin(admin.ModelAdmin):
    """Look and delete, nothing else: rows are created and changed through the product's
    services (their timelines, notifications and events come with them), and deleting goes
    through `delete_with_service` for the same reason."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_with_service(self, request, obj) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.delete_with_service(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_with_service(request, obj)
