"""What a browser would submit for a form of a rendered page: the values of
its inputs, selects and textareas (checked boxes only), so tests post the
form as the page shows it and change only what a person would; and the
errors the page renders beside a field."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.skip = action, False, 0
        self.values: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "get").lower() == "post":
            self.inside = attrs.get("action") == self.action
        if tag == "template":
            self.skip += 1  # the rows "Add another" clones are not submitted
        if not self.inside or self.skip:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.values.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.values.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_options = name, []
        elif tag == "option" and self.select is not None:
            self.select_options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag):
        if tag == "template":
            self.skip -= 1
        elif tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            chosen = [v for v, selected in self.select_options if selected] or [v for v, _ in self.select_options[:1]]
            self.values += [(self.select, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.values.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data


def form_values(html: str, action: str) -> dict:
    """The POST body of the form posting to ``action``: a dict whose values
    are strings, or lists for names given more than once."""
    reader = _FormReader(action)
    reader.feed(html)
    body: dict = {}
    for name, value in reader.values:
        if name in body:
            body[name] = [*body[name], value] if isinstance(body[name], list) else [body[name], value]
        else:
            body[name] = value
    return body


def field_errors(response, field: str) -> list[str]:
    """The messages in the error list rendered beside ``field`` (its id is ``id_<field>_error``), as raw HTML."""
    body = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(field)}_error" role="alert">(.*?)</ul>', body, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []
