"""The standard priority matrix and a starter category tree; administrators edit both."""

from django.db import migrations

# (impact, urgency) -> priority: 1 high ... 3 low on both axes.
MATRIX = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 5,
}

CATEGORIES = {
    "Hardware": ["Desktop / laptop", "Printer", "Server", "Mobile device"],
    "Software": ["Application error", "Installation", "Licence", "Performance"],
    "Network": ["Connectivity", "VPN", "Wi-Fi", "DNS"],
    "Access": ["Password reset", "Account locked", "Permissions"],
    "Email": ["Delivery", "Mailbox", "Calendar"],
    "Security": ["Phishing", "Malware", "Data leak"],
}


def create_defaults(apps, schema_editor):
    PriorityMatrix = apps.get_model("incidents", "PriorityMatrix")
    Category = apps.get_model("incidents", "Category")
    for (impact, urgency), priority in MATRIX.items():
        PriorityMatrix.objects.get_or_create(
            impact=impact, urgency=urgency, defaults={"priority": priority}
        )
    for name, children in CATEGORIES.items():
        parent, _ = Category.objects.get_or_create(name=name, parent=None)
        for child in children:
            Category.objects.get_or_create(name=child, parent=parent)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
