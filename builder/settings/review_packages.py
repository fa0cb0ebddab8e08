"""Settings of the review's packages check: where it asks about an app's dependencies, and how strict it is."""

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


class ReviewPackageSettings(BaseSettings):
    """Review: packages"""

    review_npm_registry: str = Field(
        default="",
        description="The npm registry the review asks whether each npm package of an app exists, when each version was "
        "published and whether it is deprecated (one request per package name). Empty: FORJA_NPM_REGISTRY, the mirror "
        "previews install from, else `https://registry.npmjs.org`.",
    )
    review_pypi_url: str = Field(
        default="https://pypi.org/pypi",
        description="PyPI's JSON API (or a mirror's that answers `<address>/<name>/json` and "
        "`<address>/<name>/<version>/json` the same way) the review asks about each Python package of an app; a yanked "
        "version counts as deprecated. Empty: Python packages are not checked against a registry.",
    )
    review_advisory_feed: str = Field(
        default="https://api.osv.dev",
        description="An advisory feed in OSV's format (`POST <address>/v1/querybatch`, `GET <address>/v1/vulns/<id>`) "
        "the review asks for known security problems in the exact versions an app installs. Empty: advisories are not "
        "checked.",
    )
    review_min_package_age_days: float = Field(
        default=2,
        ge=0,
        description="A package version published less than this many days ago is a high finding (new releases are "
        "where hijacked packages show up first), unless its name is in FORJA_REVIEW_ALLOWED_PACKAGES. `0`: no age check.",
    )
    review_allowed_packages: str = Field(
        default="",
        description="Package names (comma-separated, e.g. `my-ui-kit,@acme/forms`) the owner vouches for: the review "
        "does not report them as too new nor as a misspelling of a popular package (it still checks that they exist, "
        "deprecation and advisories).",
    )
    review_package_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest the review waits for one answer of the registry or the advisory feed; past it, the review "
        "says in a low finding that the packages could not be checked, and never blocks a publish for it.",
    )
    review_package_lookups: int = Field(
        default=16,
        gt=0,
        description="Most requests the packages check has in flight at once, to the registries and the advisory feed together.",
    )

    @field_validator("review_npm_registry", "review_pypi_url", "review_advisory_feed")
    @classmethod
    def _an_address(cls, value: str) -> str:
        """Refused at start, in words, rather than as an outage at every review."""
        text = value.strip()
        try:
            url = urlsplit(text)
            good = url.scheme in ("http", "https") and bool(url.hostname)
        except ValueError:  # an unclosed [ of an IPv6 address
            good = False
        if text and not good:
            # Not the value itself: a mirror's address may carry its password, and this is said at every start.
            raise ValueError("is not an http:// or https:// address")
        return text.rstrip("/")

    @property
    def allowed_packages(self) -> frozenset[str]:
        """The names in FORJA_REVIEW_ALLOWED_PACKAGES, lower-cased (npm's names are; PyPI's compare so)."""
        return frozenset(name.strip().lower() for name in self.review_allowed_packages.split(",") if name.strip())
