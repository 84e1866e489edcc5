"""The monthly service-level report of a customer organisation as PDF (ISO/IEC
20000-1:2018 8.3.3 and 9.1: report performance against the service level targets).

Rendered with reportlab from the data of `sla.selectors.service_level_report`, in the
active language; Chinese text uses the Adobe CID font STSong-Light, which every PDF reader
has built in, so no font file ships with the product.
"""

import datetime as dt
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.tables import LongTable

from .choices import Metric

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD_FONT = "Helvetica-Bold"
HEADER_BACKGROUND = colors.HexColor("#e9eef6")
GRID_COLOUR = colors.HexColor("#c5ccd8")
BREACH_COLOUR = colors.HexColor("#b42318")


def duration_text(value: dt.timedelta | None) -> str:
    """A duration as hours and minutes (4:30 h), the way targets are agreed."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    return _("%(hours)d:%(minutes)02d h") % {"hours": minutes // 60, "minutes": minutes % 60}


def percent_text(value) -> str:
    if value is None:
        return "-"
    return f"{Decimal(str(value)):.3f}".rstrip("0").rstrip(".") + " %"


def target_promise(target) -> str:
    """What the target promises, in words: "Resolution within 4:00 h (Office hours)"."""
    if target.metric == Metric.AVAILABILITY:
        return _("%(metric)s of %(percent)s") % {
            "metric": target.get_metric_display(),
            "percent": percent_text(target.availability_percent),
        }
    return _("%(metric)s within %(duration)s (%(calendar)s)") % {
        "metric": target.get_metric_display(),
        "duration": duration_text(target.duration),
        "calendar": target.calendar.name if target.calendar_id else "-",
    }


def report_texts(report: dict) -> dict:
    """Adds the display texts to a report (in the active language): each target row's
    `promise`, each availability row's measured, target, downtime, planned_downtime and
    agreed_time ("" where unknown)."""
    for row in report["targets"]:
        row["promise"] = target_promise(row["target"])
    for item in report["availability"]:
        figures = item["figures"] or {}
        item.update(
            measured=_or_blank(percent_text, figures.get("measured_percent")),
            target=_or_blank(percent_text, figures.get("target_percent")),
            downtime=_or_blank(duration_text, figures.get("downtime")),
            planned_downtime=_or_blank(duration_text, figures.get("planned_downtime")),
            agreed_time=_or_blank(duration_text, figures.get("agreed_time")),
        )
    return report


def _or_blank(format_value, value) -> str:
    return "" if value is None else format_value(value)


def _fonts() -> tuple[str, str]:
    """Regular and bold font for the active language (Chinese needs the CID font)."""
    if (get_language() or "").lower().startswith("zh"):
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT, CJK_FONT
    return LATIN_FONT, LATIN_BOLD_FONT


def _table(rows: list[list], widths: list[float], font: str, bold: str, *, repeat=True):
    table = (LongTable if len(rows) > 30 else Table)(
        rows, colWidths=widths, repeatRows=1 if repeat else 0
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 8),
                ("FONT", (0, 0), (-1, 0), bold, 8),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
                ("GRID", (0, 0), (-1, -1), 0.4, GRID_COLOUR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 1), (-1, -1), "LEFT"),
            ]
        )
    )
    return table


def service_level_report_pdf(report: dict, *, compress: bool = True) -> bytes:
    """The PDF of a service-level report (the dict of `service_level_report`)."""
    font, bold = _fonts()
    report = report_texts(report)
    styles = {
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", fontName=font, fontSize=10, leading=14),
        "heading": ParagraphStyle(
            "heading", fontName=bold, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "body": ParagraphStyle("body", fontName=font, fontSize=8, leading=10),
        "note": ParagraphStyle(
            "note", fontName=font, fontSize=8, leading=10, textColor=colors.HexColor("#5b6577")
        ),
    }
    organisation = report["organisation"]

    def cell(text) -> Paragraph:
        return Paragraph(_escape(text), styles["body"])

    story = [
        Paragraph(_escape(_("Service-level report")), styles["title"]),
        Paragraph(
            _escape(
                _("%(organisation)s, %(month)s")
                % {"organisation": organisation.name, "month": report["month_label"]}
            ),
            styles["subtitle"],
        ),
        Paragraph(
            _escape(
                _("Created %(when)s (times in %(zone)s)")
                % {
                    "when": date_format(timezone.localtime(), "DATETIME_FORMAT"),
                    "zone": timezone.get_current_timezone_name(),
                }
            ),
            styles["note"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(_escape(_("Attainment per target")), styles["heading"]),
    ]
    totals = report["totals"]
    if report["targets"]:
        rows = [
            [
                _("Agreement"),
                _("Target"),
                _("Agreed"),
                _("Met"),
                _("Breached"),
                _("Total"),
                _("Attainment"),
            ]
        ]
        for row in report["targets"]:
            target = row["target"]
            rows.append(
                [
                    cell(row["agreement"].name),
                    cell(target.name),
                    cell(row["promise"]),
                    row["met"],
                    row["breached"],
                    row["total"],
                    percent_text(row["percent"]),
                ]
            )
        rows.append(
            [
                cell(_("Total")),
                "",
                "",
                totals["met"],
                totals["breached"],
                totals["total"],
                percent_text(totals["percent"]),
            ]
        )
        widths = [36 * mm, 32 * mm, 46 * mm, 14 * mm, 16 * mm, 14 * mm, 22 * mm]
        story.append(_table(rows, widths, font, bold))
    else:
        story.append(
            Paragraph(
                _escape(_("No agreement covers this organisation in this month.")), styles["body"]
            )
        )

    story.append(Paragraph(_escape(_("Breaches")), styles["heading"]))
    breaches = report["breaches"]
    if breaches:
        rows = [
            [_("Record"), _("Title"), _("Target"), _("Service"), _("Priority"), _("Breached at")]
        ]
        for clock in breaches:
            record = clock.record
            moment = clock.breach_moment
            rows.append(
                [
                    cell(getattr(record, "number", "") or f"#{clock.object_id}"),
                    cell(getattr(record, "title", "")),
                    cell(clock.target.name),
                    cell(clock.service.name if clock.service else "-"),
                    cell(str(clock.priority or "-")),
                    cell(
                        date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
                        if moment
                        else "-"
                    ),
                ]
            )
        widths = [22 * mm, 52 * mm, 34 * mm, 30 * mm, 14 * mm, 28 * mm]
        story.append(_table(rows, widths, font, bold))
        if len(breaches) >= report["breaches_shown"]:
            story.append(
                Paragraph(
                    _escape(
                        _("Only the latest %(count)d breaches are listed.")
                        % {"count": report["breaches_shown"]}
                    ),
                    styles["note"],
                )
            )
    else:
        story.append(Paragraph(_escape(_("No target was breached in this month.")), styles["body"]))

    story.append(Paragraph(_escape(_("Availability per service")), styles["heading"]))
    if not report["availability"]:
        story.append(Paragraph(_escape(_("No service is covered.")), styles["body"]))
    else:
        rows = [
            [
                _("Service"),
                _("Measured"),
                _("Target"),
                _("Downtime"),
                _("Planned maintenance"),
                _("Agreed time"),
            ]
        ]
        for item in report["availability"]:
            rows.append(
                [
                    cell(item["service"].name),
                    *(
                        item[name] or "-"
                        for name in (
                            "measured",
                            "target",
                            "downtime",
                            "planned_downtime",
                            "agreed_time",
                        )
                    ),
                ]
            )
        widths = [50 * mm, 22 * mm, 22 * mm, 24 * mm, 32 * mm, 28 * mm]
        story.append(_table(rows, widths, font, bold))
        if not report["availability_known"]:
            story.append(Paragraph(_escape(_("Availability is not measured yet.")), styles["note"]))

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"{_('Service-level report')} {organisation.name} {report['month']:%Y-%m}",
        author="ITSM",
        pageCompression=1 if compress else 0,
    )
    document.build(story)
    return buffer.getvalue()


def _escape(text) -> str:
    """Text for a reportlab Paragraph, which reads a small XML markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
