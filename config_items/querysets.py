from django.db import models
from django.db.models import Q


class ConfigurationItemQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ConfigurationItemQuerySet":
        """Agents see the whole CMDB; a customer sees only the services of their organisation."""
        if not user.is_authenticated:
            return self.none()
        if user.is_customer:
            return self.filter(~Q(ci_class__service_kind=""), organisations=user.organisation_id)
        if user.has_perm("config_items.view_configurationitem"):
            return self
        return self.none()

    def services(self) -> "ConfigurationItemQuerySet":
        return self.exclude(ci_class__service_kind="")

    def of_classes(self, class_ids) -> "ConfigurationItemQuerySet":
        return self.filter(ci_class_id__in=class_ids)
