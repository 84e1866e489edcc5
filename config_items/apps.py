from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigItemsConfig(AppConfig):
    name = "config_items"
    verbose_name = _("Configuration management")
