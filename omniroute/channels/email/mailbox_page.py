"""The demo mailbox's HTML: what Omniroute sent, and a form to answer as the customer."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from omniroute.channels.email.demo_mailbox import Letter


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Demo mailbox</title>
<link rel="stylesheet" href="/static/tokens.css">
<link rel="stylesheet" href="/static/support/mailbox.css">
<script type="module" src="/static/timefmt.js"></script>
</head>
<body>
<main class="mailbox" id="main">
{body}
</main>
</body>
</html>
"""


def _when(letter: Letter) -> str:
    if letter.sent_at is None:
        return ""
    iso = letter.sent_at.isoformat()
    return f'<time datetime="{iso}" data-local="datetime">{escape(iso)}</time>'


def list_page(letters: list[Letter], folder: str, notice: str = "") -> str:
    """Every caught message, newest first, each opening its full text."""
    rows = "\n".join(
        f'<li class="letter"><a href="/demo/mailbox/{quote(x.name)}">'
        f'<span class="letter-subject">{escape(x.subject or "(no subject)")}</span>'
        f'<span class="letter-meta">to {escape(x.recipients)} · from {escape(x.sender)} · '
        f"{_when(x)}</span></a></li>"
        for x in letters
    )
    empty = (
        '<p class="empty">No mail yet. Reply to an email in the workspace and it appears here.</p>'
    )
    flash = f'<p class="flash" role="status">{escape(notice)}</p>' if notice else ""
    return _page(
        "Sent mail",
        f"""<h1>Demo mailbox</h1>
<p class="lead">Every email Omniroute sends in demo mode is caught here instead of leaving this
machine (also kept as <code>.eml</code> files in <code>{escape(folder)}</code>).</p>
{flash}
<ol class="letters">{rows}</ol>{"" if letters else empty}""",
    )


def letter_page(letter: Letter, error: str = "") -> str:
    """One caught message and the customer's reply form."""
    problem = f'<p class="error" role="alert" id="reply-error">{escape(error)}</p>' if error else ""
    invalid = ' aria-invalid="true" aria-describedby="reply-error"' if error else ""
    return _page(
        letter.subject or "(no subject)",
        f"""<p><a href="/demo/mailbox">← All sent mail</a></p>
<h1>{escape(letter.subject or "(no subject)")}</h1>
<dl class="headers">
<dt>From</dt><dd>{escape(letter.sender)}</dd>
<dt>To</dt><dd>{escape(letter.recipients)}</dd>
<dt>Sent</dt><dd>{_when(letter)}</dd>
</dl>
<pre class="body">{escape(letter.text)}</pre>
<form method="post" action="/demo/mailbox/{quote(letter.name)}/reply" class="reply">
<h2>Answer as the customer</h2>
<p class="lead">The answer goes to Omniroute's own SMTP listener, threaded to this message, and
shows up live in the agent's conversation.</p>
{problem}
<label for="body">Your answer</label>
<textarea id="body" name="body" rows="5" required maxlength="20000"{invalid}></textarea>
<button type="submit">Send as {escape(letter.recipients.split(",")[0])}</button>
</form>""",
    )
