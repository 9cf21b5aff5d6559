"""The console's run figures as template filters (``{% load run_format %}``)."""

from django import template

from executions.web.formats import duration_label, pretty_json, usd_label

register = template.Library()
register.filter("duration", duration_label)
register.filter("usd", usd_label)
register.filter("as_json", pretty_json)
