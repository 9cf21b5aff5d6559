"""Helpers the lifecycle pages' tests share: reading a rendered page's form
errors, and checking who may open a page."""

from __future__ import annotations

from bs4 import BeautifulSoup
from django.test import Client


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode(), "html.parser")


def field_errors(response, field: str, *, within: str = "main") -> list[str]:
    """The errors shown beside ``field`` (console/includes/field.html) in the
    ``within`` element (a CSS selector), linked to it for screen readers."""
    wrapper = soup(response).select_one(within).find(attrs={"data-field": field})
    assert wrapper is not None, f"no field {field!r} on the page"
    errors = wrapper.find(class_="errorlist")
    if errors is None:
        return []
    control = wrapper.find(["input", "select", "textarea"])
    if control is not None and control.get("type") not in ("radio", "checkbox"):
        assert errors["id"] in (control.get("aria-describedby") or ""), "the error is not linked to its field"
    return [li.get_text(" ", strip=True) for li in errors.find_all("li")]


def form_errors(response) -> list[str]:
    return [li.get_text(" ", strip=True)
            for ul in soup(response).select(".errorlist--form") for li in ul.find_all("li")]


def flashes(response) -> list[str]:
    return [p.get_text(" ", strip=True) for p in soup(response).select(".messages .message")]


def status_for(user, url: str) -> int:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(url).status_code


def assert_page_access(url: str, *, allowed, refused_404, anonymous: bool = True) -> None:
    """``allowed`` users get 200, ``refused_404`` (non-members) 404, the anonymous a redirect to the login page."""
    for user in allowed:
        assert status_for(user, url) == 200, user
    for user in refused_404:
        assert status_for(user, url) == 404, user
    if anonymous:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
