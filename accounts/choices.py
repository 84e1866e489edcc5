from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SIMPLIFIED_CHINESE = "zh-hans", _("Simplified Chinese")


class Role(models.TextChoices):
    """The roles of PRODUCT.md; each is a Django group whose permissions live in roles.py."""

    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    MANAGER = "manager", _("Manager")
    ADMINISTRATOR = "administrator", _("Administrator")
