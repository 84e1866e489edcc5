"""Standard CI classes, their attribute schemas and relationship types.

Administrators extend or edit them; this migration only creates what is missing.
"""

from django.db import migrations

CLASSES = [
    # code, name, parent code, icon, service kind, is location, list columns
    ("location", "Location", None, "geo-alt", "", True, ["city", "country"]),
    ("hardware", "Hardware", None, "cpu", "", False, ["manufacturer", "model"]),
    ("server", "Server", "hardware", "hdd-rack", "", False, ["os", "cpu_cores", "ram_gb", "ip_address"]),
    ("virtual_machine", "Virtual machine", "server", "hdd-stack", "", False, ["os", "cpu_cores", "ram_gb", "hypervisor"]),
    ("network_device", "Network device", "hardware", "router", "", False, ["device_type", "ip_address"]),
    ("storage", "Storage", "hardware", "device-hdd", "", False, ["capacity_tb"]),
    ("application", "Application", None, "window-stack", "", False, ["version", "vendor"]),
    ("database", "Database", None, "database", "", False, ["engine", "version"]),
    ("business_service", "Business service", None, "briefcase", "business", False, ["service_hours"]),
    ("technical_service", "Technical service", None, "gear-wide-connected", "technical", False, ["service_hours"]),
    ("document", "Document", None, "file-earmark-text", "", False, ["document_url"]),
]

ATTRIBUTES = [
    # class code, key, label, type, required, choices, unit, order
    ("location", "address", "Address", "text", False, [], "", 1),
    ("location", "city", "City", "string", False, [], "", 2),
    ("location", "country", "Country", "string", False, [], "", 3),
    ("hardware", "manufacturer", "Manufacturer", "string", False, [], "", 1),
    ("hardware", "model", "Model", "string", False, [], "", 2),
    ("hardware", "purchase_date", "Purchase date", "date", False, [], "", 3),
    ("hardware", "warranty_end", "Warranty end", "date", False, [], "", 4),
    ("server", "os", "Operating system", "choice", False,
     ["Linux", "Windows", "AIX", "Solaris", "Other"], "", 10),
    ("server", "os_version", "OS version", "string", False, [], "", 11),
    ("server", "cpu_cores", "CPU cores", "integer", False, [], "cores", 12),
    ("server", "ram_gb", "Memory", "integer", False, [], "GB", 13),
    ("server", "ip_address", "IP address", "ip_address", False, [], "", 14),
    ("server", "hostname", "Host name", "string", False, [], "", 15),
    ("virtual_machine", "hypervisor", "Hypervisor", "choice", False,
     ["VMware", "KVM", "Hyper-V", "Xen", "Cloud"], "", 20),
    ("network_device", "device_type", "Device type", "choice", True,
     ["Router", "Switch", "Firewall", "Load balancer", "Access point"], "", 10),
    ("network_device", "ip_address", "Management IP", "ip_address", False, [], "", 11),
    ("network_device", "port_count", "Ports", "integer", False, [], "", 12),
    ("storage", "capacity_tb", "Capacity", "decimal", False, [], "TB", 10),
    ("application", "version", "Version", "string", False, [], "", 1),
    ("application", "vendor", "Vendor", "string", False, [], "", 2),
    ("application", "url", "URL", "url", False, [], "", 3),
    ("database", "engine", "Engine", "choice", True,
     ["PostgreSQL", "MySQL", "Oracle", "SQL Server", "MongoDB", "Redis", "Other"], "", 1),
    ("database", "version", "Version", "string", False, [], "", 2),
    ("database", "size_gb", "Size", "decimal", False, [], "GB", 3),
    ("business_service", "service_hours", "Service hours", "string", False, [], "", 1),
    ("business_service", "availability_target", "Availability target", "decimal", False, [], "%", 2),
    ("business_service", "customer_facing", "Customer facing", "boolean", False, [], "", 3),
    ("technical_service", "service_hours", "Service hours", "string", False, [], "", 1),
    ("technical_service", "availability_target", "Availability target", "decimal", False, [], "%", 2),
    ("document", "document_url", "Document URL", "url", False, [], "", 1),
]

RELATIONSHIP_TYPES = [
    # code, forward, reverse, impact
    ("depends_on", "depends on", "used by", "target_to_source"),
    ("runs_on", "runs on", "hosts", "target_to_source"),
    ("connected_to", "connected to", "connected to", "both"),
    ("part_of", "part of", "contains", "source_to_target"),
    ("backed_up_by", "backed up by", "backs up", "none"),
    ("located_in", "located in", "houses", "target_to_source"),
    ("documented_by", "documented by", "documents", "none"),
]


def create_defaults(apps, schema_editor):
    CIClass = apps.get_model("config_items", "CIClass")
    AttributeDefinition = apps.get_model("config_items", "AttributeDefinition")
    RelationshipType = apps.get_model("config_items", "RelationshipType")
    by_code = {}
    for code, name, parent, icon, service_kind, is_location, columns in CLASSES:
        ci_class, _ = CIClass.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "parent": by_code.get(parent),
                "icon": icon,
                "service_kind": service_kind,
                "is_location": is_location,
                "list_columns": columns,
            },
        )
        by_code[code] = ci_class
    for code, key, label, kind, required, choices, unit, order in ATTRIBUTES:
        AttributeDefinition.objects.get_or_create(
            ci_class=by_code[code],
            key=key,
            defaults={
                "label": label,
                "type": kind,
                "is_required": required,
                "choices": choices,
                "unit": unit,
                "order": order,
            },
        )
    for code, forward, reverse, impact in RELATIONSHIP_TYPES:
        RelationshipType.objects.get_or_create(
            code=code,
            defaults={"forward_name": forward, "reverse_name": reverse, "impact": impact},
        )


class Migration(migrations.Migration):
    dependencies = [("config_items", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
