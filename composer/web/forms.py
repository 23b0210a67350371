"""The fields of a form posted to `weekly serve`, application/x-www-form-urlencoded or multipart/form-data
(RFC 7578), read the same way by every form: a browser sends either (a site's own copy of the sign-up
form may say enctype="multipart/form-data"), and RFC 8058 §3.2 says a one-click POST SHOULD be multipart.
The body is within `serve.max_body_bytes` by then (serve_limits.BodyLimit).
"""

from __future__ import annotations

import re
from email.parser import BytesParser
from email.policy import default
from urllib.parse import parse_qs

_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)


async def form_fields(request) -> dict[str, list[str]]:
    """Each field's values, in the order posted."""
    body = await request.body()
    kind = request.headers.get("content-type", "")
    if kind.lower().startswith("multipart/form-data"):
        fields: dict[str, list[str]] = {}
        boundary = _BOUNDARY.search(kind)
        if not boundary:
            return fields
        # Quoted again: clients leave out the quotes a boundary with "=" needs, which the email parser wants.
        head = f'Content-Type: multipart/form-data; boundary="{boundary[1]}"\r\n\r\n'
        parsed = BytesParser(policy=default).parsebytes(head.encode() + body)
        for part in parsed.iter_parts() if parsed.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                value = part.get_payload(decode=True)
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else ""
                fields.setdefault(name, []).append(text.strip())
        return fields
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
