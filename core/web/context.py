"""Template context every console page gets."""

from django.urls import reverse

from core.web.navigation import nav_items


def console(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    section = request.path.strip("/").split("/", 1)[0]
    items = [{"label": item.label, "url": reverse(f"console:{item.url_name}"),
              "current": item.section == section}
             for item in nav_items(staff=user.is_staff)]
    return {"console_nav": items}
