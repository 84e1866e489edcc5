from django.db import models
from django.utils.translation import gettext_lazy as _


class CIStatus(models.TextChoices):
    """Lifecycle of a configuration item (ISO/IEC 20000-1 8.2.6)."""

    PLANNED = "planned", _("Planned")
    IN_BUILD = "in_build", _("In build")
    LIVE = "live", _("Live")
    MAINTENANCE = "maintenance", _("Maintenance")
    RETIRED = "retired", _("Retired")


class Environment(models.TextChoices):
    PRODUCTION = "production", _("Production")
    TEST = "test", _("Test")
    DEVELOPMENT = "development", _("Development")


class Criticality(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class AttributeType(models.TextChoices):
    """Value types a class attribute can declare; validated on every write."""

    STRING = "string", _("Text (one line)")
    TEXT = "text", _("Text (several lines)")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    BOOLEAN = "boolean", _("Yes / no")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice from a list")
    IP_ADDRESS = "ip_address", _("IP address")
    URL = "url", _("Web address")
    EMAIL = "email", _("Email address")


class ServiceKind(models.TextChoices):
    """Whether a CI class describes a service of the catalogue (8.2.4), and which kind."""

    NONE = "", _("Not a service")
    BUSINESS = "business", _("Business service")
    TECHNICAL = "technical", _("Technical service")


class ImpactDirection(models.TextChoices):
    DOWNSTREAM = "downstream", _("Downstream: what is affected if this fails")
    UPSTREAM = "upstream", _("Upstream: what this depends on")


class ImportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    JSON = "json", _("JSON")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImpactPropagation(models.TextChoices):
    TARGET_TO_SOURCE = "target_to_source", _("A failure of the target affects the source")
    SOURCE_TO_TARGET = "source_to_target", _("A failure of the source affects the target")
    BOTH = "both", _("A failure of either affects the other")
    NONE = "none", _("Failures do not propagate")
