from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower

RESERVED_USERNAMES = frozenset({"me", "admin", "api", "docs", "static", "media", "ws"})
# The JWT claim that names a token's AccountSession (as OpenID Connect's `sid`).
SESSION_CLAIM = "sid"


class Role(models.TextChoices):
    USER = "user", "User"
    ADMIN = "admin", "Admin"


class UserQuerySet(models.QuerySet):
    def by_username(self, username: str) -> "UserQuerySet":
        """Case-insensitive match that uses the LOWER(username) unique index."""
        return self.alias(username_lower=Lower("username")).filter(username_lower=username.lower())

    def usernames_in(self, usernames: list[str]) -> "UserQuerySet":
        """Accounts whose username, in any case, is one of `usernames` (lower-cased)."""
        return self.alias(username_lower=Lower("username")).filter(username_lower__in=usernames)

    def active_by_username(self, username: str) -> "UserQuerySet":
        """The account others can see: matched by username in any case, and active."""
        return self.by_username(username).filter(is_active=True)


class AccountManager(UserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username):
        # Sign-in (and createsuperuser's clash check) match usernames whatever their case,
        # as their uniqueness does.
        return self.by_username(username).get()


class User(AbstractUser):
    """An account. The admin role is staff access: `role` is derived from `is_staff`, so the
    two can never disagree, and a superuser is always staff (a database constraint)."""

    # ASCII, as handles on X are: uniqueness ignores case in the database (LOWER), and
    # SQLite's LOWER folds ASCII letters only. Display names take any script.
    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="Required. 150 characters or fewer. ASCII letters, digits and @/./+/-/_ only.",
        validators=[ASCIIUsernameValidator()],
        error_messages={"unique": "A user with that username already exists."},
    )
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.CharField(max_length=160, blank=True)
    avatar = models.ImageField(upload_to="avatars/", blank=True, max_length=255)
    # Exact counts, kept in the transaction of each follow, unfollow, post and deletion
    # (`recount` repairs them), so a profile costs the same with 10 followers or 1M.
    followers_count = models.IntegerField(default=0)
    following_count = models.IntegerField(default=0)
    posts_count = models.IntegerField(default=0)
    # Tokens that carry no session id (minted outside sign-in, or before sessions existed)
    # issued at or before this time are refused: "sign out everywhere" for them.
    sessions_valid_after = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AccountManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(is_superuser=False) | models.Q(is_staff=True),
                name="accounts_user_superuser_is_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def accepts_sessionless_token(self, token) -> bool:
        """Whether a token without a session id is still valid for this account."""
        return self.sessionless_token_valid(token, self.sessions_valid_after)

    @staticmethod
    def sessionless_token_valid(token, sessions_valid_after) -> bool:
        """Whether a token without a session id is valid for an account whose sessions
        ended at `sessions_valid_after` (None: never). `iat` counts whole seconds: a token
        of the very second the sessions ended counts as issued before (refused), never the
        other way round."""
        cutoff = sessions_valid_after
        return cutoff is None or int(token.get("iat", 0)) > int(cutoff.timestamp())

    @property
    def role(self) -> str:
        return Role.ADMIN if self.is_staff else Role.USER

    @role.setter
    def role(self, value: str) -> None:
        self.is_staff = value == Role.ADMIN
        if not self.is_staff:
            self.is_superuser = False

    # Admins have full access to the Django admin; there are no finer-grained staff roles.
    def has_perm(self, perm, obj=None) -> bool:
        return (self.is_active and self.is_staff) or super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        return (self.is_active and self.is_staff) or super().has_module_perms(app_label)


class AccountSession(models.Model):
    """One sign-in: the refresh tokens rotated from one login, and every access token minted
    from them, carry its id in their `sid` claim. The row is the session's life: signing
    out deletes it, and a token whose session row is gone is refused on the next request
    (the check rides on the query that loads the user). An integer id, so events and
    sockets can name a session."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    # The session's current refresh token: a password change keeps it and blacklists the
    # account's other refresh tokens.
    refresh_jti = models.CharField(max_length=255)
    # When that refresh token expires. Past it, no token of the session can be valid, and
    # the row is purged (lazily, at sign-in).
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"session {self.pk} of user {self.user_id}"

    @staticmethod
    def id_of(token) -> int | None:
        """The session id a validated token carries, or None for a token without one.
        Raises ValueError for a malformed claim (ours are signed, so never seen in use)."""
        sid = token.get(SESSION_CLAIM)
        if sid is None:
            return None
        if type(sid) is not int or not 0 < sid < 2**63:
            raise ValueError("The token's session id is malformed.")
        return sid


class WebSession(AbstractBaseSession):
    """A browser's sign-in to the web client: Django's database session, plus the account
    it signs in as, so the session and the account are read in one statement
    (`accounts.sessions`). Deleting the account deletes its sessions."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="web_sessions"
    )

    class Meta(AbstractBaseSession.Meta):
        verbose_name = "web session"
        verbose_name_plural = "web sessions"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore
