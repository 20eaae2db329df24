"""The case form's HTML: works without JavaScript, errors next to their fields."""

from __future__ import annotations

from html import escape

from omniroute.channels.cases.form import HONEYPOT, CaseForm

FIELDS = (
    ("name", "Your name", "input", "text", "name"),
    ("email", "Email address", "input", "email", "email"),
    ("subject", "Subject", "input", "text", "off"),
    ("description", "How can we help?", "textarea", "", "off"),
)
HINTS = {
    "email": "We reply to this address.",
    "description": "Order numbers, what you tried and what happened help us most.",
}


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Support</title>
<link rel="stylesheet" href="/static/tokens.css">
<link rel="stylesheet" href="/static/support/case.css">
</head>
<body>
<main class="card" id="main">
{body}
</main>
</body>
</html>
"""


def _field(form: CaseForm | None, spec: tuple[str, str, str, str, str]) -> str:
    name, label, tag, kind, auto = spec
    value = escape(form.values.get(name, "")) if form else ""
    error = form.errors.get(name) if form else None
    described = []
    hint = HINTS.get(name)
    if hint:
        described.append(f"{name}-hint")
    if error:
        described.append(f"{name}-error")
    attrs = f'id="{name}" name="{name}" required autocomplete="{auto}"'
    if described:
        attrs += f' aria-describedby="{" ".join(described)}"'
    if error:
        attrs += ' aria-invalid="true"'
    if tag == "textarea":
        control = f'<textarea {attrs} rows="6" maxlength="5000">{value}</textarea>'
    else:
        control = f'<input {attrs} type="{kind}" value="{value}" maxlength="320">'
    parts = [f'<div class="field{" has-error" if error else ""}">']
    parts.append(f'<label for="{name}">{escape(label)}</label>')
    if hint:
        parts.append(f'<p class="hint" id="{name}-hint">{escape(hint)}</p>')
    if error:
        parts.append(f'<p class="error" id="{name}-error">{escape(error)}</p>')
    parts += [control, "</div>"]
    return "\n".join(parts)


def form_page(token: str, form: CaseForm | None = None, notice: str | None = None) -> str:
    """The form, refilled with what was typed and with its errors when it was refused."""
    summary = ""
    if form is not None and form.errors:
        links = "".join(
            f'<li><a href="#{name}">{escape(message)}</a></li>'
            for name, message in form.errors.items()
        )
        summary = (
            '<div class="summary" role="alert" tabindex="-1" id="problems" autofocus>'
            f"<h2>Please fix {len(form.errors)} "
            f"{'thing' if len(form.errors) == 1 else 'things'}</h2><ul>{links}</ul></div>"
        )
    if notice:
        summary += f'<div class="summary" role="alert">{escape(notice)}</div>'
    fields = "\n".join(_field(form, spec) for spec in FIELDS)
    body = f"""<h1>Contact support</h1>
<p class="lead">Tell us what happened and we will get back to you by email,
usually within one working day.</p>
{summary}
<form method="post" action="/support/case" novalidate>
<input type="hidden" name="form_token" value="{escape(token)}">
{fields}
<div class="trap" aria-hidden="true">
<label for="{HONEYPOT}">Leave this field empty</label>
<input id="{HONEYPOT}" name="{HONEYPOT}" type="text" tabindex="-1" autocomplete="off">
</div>
<button type="submit">Send to support</button>
</form>"""
    return _page("Contact support", body)


def sent_page(reference: str) -> str:
    """The confirmation shown once the case is filed."""
    body = f"""<div class="done" role="status">
<h1>Thank you, we have your request</h1>
<p class="lead">Your reference is <strong class="ref">{escape(reference)}</strong>.
We will reply by email; quote the reference if you write to us about it.</p>
<p><a href="/support/case">Send another request</a></p>
</div>"""
    return _page("Request sent", body)


def busy_page(wait_s: int) -> str:
    """Shown when this address sent the form too often: nothing was filed."""
    body = f"""<h1>Contact support</h1>
<p class="lead" role="status">Too many requests were sent from your network just now, so this
one was not sent. Please go back and send it again in {wait_s} seconds.</p>"""
    return _page("Contact support", body)


def unavailable_page() -> str:
    """Shown when no queue is configured for the form."""
    body = """<h1>Contact support</h1>
<p class="lead" role="status">The support form is not available right now.
Please try again later.</p>"""
    return _page("Contact support", body)
