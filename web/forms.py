"""Input of the web client's pages. Labels are the names people look for ("Username",
"Display name", ...); they are the controls' accessible names too."""

import functools
import uuid

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from rest_framework import serializers

from accounts import services as account_services
from accounts.models import RESERVED_USERNAMES, User
from accounts.serializers import validate_username_available
from moderation.models import Report


class SignUpForm(UserCreationForm):
    """Username, Password, Password confirmation; the account is made by the same service
    as the API's registration."""

    class Meta:
        model = User
        fields = ("username",)

    def clean_username(self):
        username = super().clean_username()
        if username and username.lower() in RESERVED_USERNAMES:
            raise forms.ValidationError("This username is reserved.")
        return username

    def save(self, commit=True):
        return account_services.user_register(
            username=self.cleaned_data["username"], password=self.cleaned_data["password1"]
        )


class WebPasswordChangeForm(PasswordChangeForm):
    """Django's form; the change goes through the service, which also ends the account's
    API sessions (the view keeps this browser's session)."""

    def save(self, commit=True):
        account_services.user_change_password(
            user=self.user, new_password=self.cleaned_data["new_password1"]
        )
        return self.user


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class ComposeForm(forms.Form):
    """A post or a reply. Each rendered form carries its own idempotency key, so a double
    submit (a double click, a retry after a lost answer) makes one post."""

    text = forms.CharField(
        label="What is happening?",
        max_length=settings.POST_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "data-count": settings.POST_MAX_LENGTH}),
        error_messages={"required": "Write something first."},
    )
    reply_to = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    idempotency_key = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)

    def __init__(self, *args, reply_to: int | None = None, **kwargs):
        kwargs.setdefault(
            "initial", {"reply_to": reply_to, "idempotency_key": new_idempotency_key()}
        )
        super().__init__(*args, **kwargs)
        if reply_to is not None:
            self.fields["text"].label = "Your reply"

    @functools.cached_property
    def box(self) -> dict:
        """What the compose box shows, looked up once: rendered through the form's bound
        fields, variable by variable, the box cost a tenth of a home page."""
        text, value = self["text"], self["text"].value()
        return {
            "id": text.id_for_label,
            "label": text.label,
            "value": "" if value is None else value,
            "errors": " ".join(text.errors),
            # A string: an integer would be localized, three times, through number_format.
            "max": str(self.fields["text"].max_length),
            "reply_to": self["reply_to"].value(),
            "idempotency_key": self["idempotency_key"].value() or "",
            "is_reply": bool(self.initial.get("reply_to")),
        }


class ProfileForm(forms.ModelForm):
    """What `PATCH /api/users/me/` changes, with the same rules: a username in ASCII that
    nobody else has in any case and that is not reserved, an email address or none."""

    class Meta:
        model = User
        fields = ("username", "email", "display_name", "bio")
        labels = {"username": "Username", "email": "Email", "display_name": "Display name"}
        labels["bio"] = "Bio"
        widgets = {
            "username": forms.TextInput(attrs={"autocomplete": "username"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "bio": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_username(self):
        username = self.cleaned_data["username"]
        try:
            validate_username_available(username, instance=self.instance)
        except serializers.ValidationError as error:
            raise forms.ValidationError(list(error.detail)) from None
        return username


class AvatarForm(forms.Form):
    # Checked and re-encoded by the avatar service; the browser only narrows the picker.
    avatar = forms.FileField(
        label="Picture", widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    confirm = forms.BooleanField(label="I understand that this deletes everything I posted")

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("The password is not right.")
        return password


class MuteForm(forms.Form):
    """How long a mute lasts (the API's `duration`, in seconds); empty: until unmuted."""

    duration = forms.TypedChoiceField(
        label="Mute for",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            ("", "Until I unmute"),
            (3600, "1 hour"),
            (86400, "1 day"),
            (7 * 86400, "7 days"),
            (30 * 86400, "30 days"),
        ],
        error_messages={"invalid_choice": "Choose how long to mute for from the list."},
    )


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=500, required=False)


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label="Reason", choices=Report.Reason.choices)
    comment = forms.CharField(
        label="Comment (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
