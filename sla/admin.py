"""Admin of service level management: administrators maintain agreements, their targets
and escalation actions, and business calendars here (ISO/IEC 20000-1:2018 8.3.3).

Every change of a calendar, its hours or its days bumps the calendar's version and
recomputes the live clocks on it (`calendar_changed`); every change of a target
recomputes its live clocks after commit. Clocks are read-only: an auditor browses them
with their event history, but only the engine writes them (STYLE.md §15).
"""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin
from core.choices import Priority
from core.exceptions import DomainError

from .calendars import calendar_changed, calendar_holidays_import
from .choices import PauseReason
from .models import (
    Agreement,
    BusinessCalendar,
    CalendarDay,
    Clock,
    ClockEvent,
    EscalationAction,
    Target,
    WorkingInterval,
)
from .tasks import clocks_recompute_task


class TargetLinkInline(admin.TabularInline):
    """The targets of an agreement as a list of links; they are edited on their own page."""

    model = Target
    extra = 0
    fields = ["name", "metric", "duration", "calendar", "is_active"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "reference", "status", "valid_from", "valid_to"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "reference", "supplier", "description"]
    filter_horizontal = ["services", "organisations", "support_groups"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [TargetLinkInline]


class EscalationActionFormSet(forms.BaseInlineFormSet):
    """An action fires at a warning threshold of its target or at 100 (the breach)."""

    def clean(self):
        super().clean()
        allowed = {*(self.instance.thresholds or []), 100}
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            percent = form.cleaned_data.get("at_percent")
            if percent is not None and percent not in allowed:
                form.add_error(
                    "at_percent",
                    _("%(percent)s %% is neither a threshold of the target nor 100.")
                    % {"percent": percent},
                )


class EscalationActionInline(admin.TabularInline):
    model = EscalationAction
    formset = EscalationActionFormSet
    extra = 0
    fields = ["at_percent", "action", "users", "group", "priority"]
    autocomplete_fields = ["users", "group"]


class TargetAdminForm(forms.ModelForm):
    priorities = forms.TypedMultipleChoiceField(
        label=_("priorities"),
        choices=Priority.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every priority."),
    )
    pause_on = forms.MultipleChoiceField(
        label=_("pause while"),
        choices=PauseReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The clock stops counting while the record waits for these."),
    )

    class Meta:
        model = Target
        fields = [
            "agreement",
            "name",
            "metric",
            "is_active",
            "record_type",
            "priorities",
            "services",
            "organisations",
            "categories",
            "duration",
            "calendar",
            "pause_on",
            "availability_percent",
            "thresholds",
        ]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetAdminForm
    list_display = ["name", "agreement", "metric", "duration", "calendar", "is_active"]
    list_filter = ["metric", "is_active", "agreement__kind", "calendar"]
    search_fields = ["name", "agreement__name"]
    list_select_related = ["agreement", "calendar"]
    filter_horizontal = ["services", "organisations", "categories"]
    fieldsets = [
        (_("What it measures"), {"fields": ["agreement", "name", "metric", "is_active"]}),
        (
            _("Applies to"),
            {
                "fields": ["record_type", "priorities", "services", "organisations", "categories"],
                "description": _("Empty conditions match every record."),
            },
        ),
        (_("Time"), {"fields": ["duration", "calendar", "pause_on", "availability_percent"]}),
        (_("Escalation"), {"fields": ["thresholds"]}),
    ]
    inlines = [EscalationActionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            target_id = form.instance.pk
            transaction.on_commit(lambda: clocks_recompute_task.delay(target_id=target_id))


class WorkingIntervalForm(forms.ModelForm):
    class Meta:
        model = WorkingInterval
        fields = ["weekday", "start", "end"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and end <= start and end != dt.time(0):
            self.add_error("end", _("The end must be after the start (00:00 means midnight)."))
        return cleaned


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    form = WorkingIntervalForm
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0
    fields = ["date", "kind", "name", "hours_of", "source"]
    readonly_fields = ["source"]
    ordering = ["-date"]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "is_24x7", "holiday_country", "version", "updated_at"]
    list_filter = ["is_24x7", "holiday_country"]
    search_fields = ["name", "description"]
    readonly_fields = ["version", "updated_at"]
    inlines = [WorkingIntervalInline, CalendarDayInline]
    actions = ["import_public_holidays"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            calendar_changed(calendar=form.instance)

    @admin.action(
        description=_("Import public holidays (this year and next)"),
        permissions=["change"],
    )
    def import_public_holidays(self, request, queryset):
        year = timezone.localdate().year
        for calendar in queryset:
            try:
                count = calendar_holidays_import(
                    calendar=calendar, years=[year, year + 1], actor=request.user
                )
            except DomainError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            self.message_user(
                request,
                ngettext(
                    "%(calendar)s: %(count)d day imported or updated.",
                    "%(calendar)s: %(count)d days imported or updated.",
                    count,
                )
                % {"calendar": calendar.name, "count": count},
                messages.SUCCESS,
            )


class ClockEventInline(admin.TabularInline):
    model = ClockEvent
    extra = 0
    fields = ["occurred_at", "kind", "percent", "elapsed", "reason", "actor", "handled_at", "data"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    """SLA clocks for auditors: what drives each clock and its full event history."""

    list_display = [
        "id",
        "content_type",
        "object_id",
        "target",
        "state",
        "kind",
        "metric",
        "started_at",
        "deadline_at",
        "breached_at",
    ]
    list_filter = ["state", "kind", "metric"]
    search_fields = ["target__name", "=object_id"]
    list_select_related = ["content_type", "target__agreement"]
    show_full_result_count = False
    inlines = [ClockEventInline]
