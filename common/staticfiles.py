"""The static files storage: WhiteNoise's compressed storage, whose URLs are worked out once
per file and process. Every page asks for the same few (its CSS, its scripts, the favicon);
the URL of a name never changes while a process runs (no manifest here, and a manifest is
read once), and working each out again cost about as much as a page's navigation."""

from whitenoise.storage import CompressedStaticFilesStorage


class StaticFilesStorage(CompressedStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name):
        try:
            return self._urls[name]
        except (KeyError, TypeError):
            url = super().url(name)
            if isinstance(name, str) and len(self._urls) < 1000:
                self._urls[name] = url
            return url
