"""What `weekly fetch` keeps between runs, in `sources.cache_dir` (state/sources by default):

    NAME.xml (or NAME.json)   each source's last good copy: what ingest reads, a WordPress API as RSS
    .http/HASH.json, .body    each URL's last good answer, its ETag and Last-Modified (conditional GET);
                              only the URLs of the sources' last good copies are kept
    .state/NAME.json          each source's record: when its copy was fetched, how many items of the
                              week it carried, its last failure

Dotted folders are skipped by ingest, so the folder itself is a valid input (`weekly items state/sources`).
Every file is written whole or not at all (a temporary file renamed). Files carry a version; one of
another version is a cache miss (fetched again in full), never half-read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from composer.config import source_slug

VERSION = 1


def write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Kept(NamedTuple):
    """A URL's last good answer."""

    url: str
    etag: str | None
    last_modified: str | None
    headers: dict[str, str]
    body_path: Path

    def conditional(self) -> dict[str, str]:
        """The headers that ask the server for the body only if it changed."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def body(self) -> bytes:
        return self.body_path.read_bytes()


class HttpCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder / ".http"

    def get(self, url: str) -> Kept | None:
        meta, body = self._paths(url)
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            if data.get("version") != VERSION or data.get("url") != url or not body.is_file():
                return None
            return Kept(url, data.get("etag"), data.get("last_modified"), dict(data.get("headers") or {}), body)
        except (OSError, ValueError, AttributeError):
            return None

    def put(self, url: str, body: bytes, etag: str | None, last_modified: str | None, headers: dict[str, str]) -> None:
        meta, body_path = self._paths(url)
        write_whole(body_path, body)
        write_whole(meta, json.dumps({"version": VERSION, "url": url, "etag": etag, "last_modified": last_modified,
                                      "headers": headers}, indent=1).encode())

    def prune(self, keep: set[str]) -> None:
        """Forget every URL but `keep`: a WordPress query names its days, so yesterday's URLs never come back."""
        for meta in self.folder.glob("*.json") if self.folder.is_dir() else ():
            try:
                url = json.loads(meta.read_text(encoding="utf-8")).get("url")
            except (OSError, ValueError, AttributeError):
                url = None
            if url not in keep:
                meta.with_suffix(".body").unlink(missing_ok=True)
                meta.unlink(missing_ok=True)

    def _paths(self, url: str) -> tuple[Path, Path]:
        name = hashlib.sha256(url.encode()).hexdigest()[:24]
        return self.folder / f"{name}.json", self.folder / f"{name}.body"


class SourceRecord(BaseModel):
    """What the last fetches of one source left: its good copy and what it carried, its last failure."""

    model_config = ConfigDict(extra="forbid")

    version: int = VERSION
    url: str
    copy_name: str | None = None  # the copy's file name in the cache folder
    fetched_at: float | None = None  # when the copy was fetched (seconds since the epoch)
    items: int = 0
    week_items: int = 0  # items of the last week it carried then: its weight when it fails
    urls: tuple[str, ...] = ()  # the URLs its copy was made from, kept in HttpCache to ask again
    failed_at: float | None = None
    reason: str | None = None


class Copies:
    """The sources' copies and records in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.http = HttpCache(folder)

    def record(self, name: str, url: str) -> SourceRecord:
        """The source's record, or a blank one (never fetched, another version, or the URL changed)."""
        try:
            record = SourceRecord.model_validate_json(self._record_path(name).read_bytes())
        except (OSError, ValidationError):
            return SourceRecord(url=url)
        return record if record.version == VERSION and record.url == url else SourceRecord(url=url)

    def copy_path(self, record: SourceRecord) -> Path | None:
        path = self.folder / record.copy_name if record.copy_name else None
        return path if path and path.is_file() else None

    def keep(self, name: str, body: bytes, suffix: str) -> str:
        """Write the source's new copy; returns its file name (an older copy in another format removed)."""
        slug = source_slug(name)
        write_whole(self.folder / f"{slug}{suffix}", body)
        for other in (".xml", ".json"):
            if other != suffix:
                (self.folder / f"{slug}{other}").unlink(missing_ok=True)
        return f"{slug}{suffix}"

    def save(self, name: str, record: SourceRecord) -> None:
        write_whole(self._record_path(name), record.model_dump_json(indent=1).encode())

    def _record_path(self, name: str) -> Path:
        return self.folder / ".state" / f"{source_slug(name)}.json"
