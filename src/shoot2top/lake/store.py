"""Where lake files live: a local directory or an S3 bucket and prefix.

A store lists writer folders and their files, reads a file, and creates a file
*atomically and only if absent* — so a reader never sees a half-written micro-batch and
two writers can never overwrite each other. Locally that is a temp file hard-linked into
place; on S3 a single PUT with ``If-None-Match: *`` where the server supports it.

Faults are not damage: a store retries transient errors (refused connections, timeouts,
throttling, 5xx, EIO, a vanished mount) under its `RetryPolicy` and then raises
`LakeUnavailable`; permanent ones (access denied, a missing bucket) raise `LakeError` at
once. Either way the caller learns that the bytes were *not read*, never that they are bad.
"""

from __future__ import annotations

import errno
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from shoot2top.runtime.retry import Exhausted, RetryPolicy, unreached_is_outage

T = TypeVar("T")


class LakeError(RuntimeError):
    """A lake operation failed; the message names the file or URI."""


class LakeUnavailable(LakeError):
    """The store did not answer (or kept failing) for longer than its retry policy allows:
    an outage, not damage. Nothing was read or written by the failed call."""


class FileExists(LakeError):
    """A file that must be new already exists (another writer, or a rerun)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    size: int


class LakeStore(ABC):
    """A lake root: writer folders, each holding numbered micro-batch files."""

    uri: str
    retry: RetryPolicy

    @abstractmethod
    def list_folders(self) -> list[str]:
        """Names of the entries directly under the root, sorted; `LakeError` if no root."""

    def is_empty(self) -> bool:
        """Nothing written here yet: a new lake."""
        return not self.list_folders()

    @abstractmethod
    def list_files(self, folder: str) -> list[StoredFile]:
        """Files of one writer folder, sorted by name; temp files excluded."""

    @abstractmethod
    def read(self, folder: str, name: str, limit: int | None = None) -> bytes:
        """The bytes of one file (at most `limit` + 1 of them: enough to see it is larger);
        `LakeError` naming it if it cannot be read."""

    @abstractmethod
    def create(self, folder: str, name: str, data: bytes) -> None:
        """Make a complete file visible at once; `FileExists` if it is already there."""

    def location(self, folder: str, name: str | None = None) -> str:
        """A human-readable address of a folder or file, for messages and reports."""
        return "/".join(part for part in (self.uri.rstrip("/"), folder, name) if part)


def fsync_directory(path: Path) -> None:
    """Make a rename or link in `path` durable (POSIX needs the directory synced too)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


PERMANENT_OS_ERRORS = frozenset(
    {errno.EEXIST, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC,
     errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.EFBIG, errno.EINVAL}
)  # fmt: skip
"""Local errors retrying cannot cure; the rest (EIO, ESTALE, ETIMEDOUT…) are retried."""


class LocalStore(LakeStore):
    """A lake on the local filesystem."""

    def __init__(
        self, root: str | Path, *, fsync: bool = True, retry: RetryPolicy | None = None
    ) -> None:
        self.root = Path(root)
        self.uri = str(self.root)
        self.fsync = fsync
        self.retry = retry or RetryPolicy()
        self._root_seen = False

    def _transient(self, error: BaseException) -> bool:
        """Worth retrying: an I/O fault, or the lake gone from under us (a lost mount: the
        root seen before is missing, or is an empty mount point) — not a file deleted from
        a lake that is still there, nor a path that never existed."""
        if not isinstance(error, OSError) or error.errno in PERMANENT_OS_ERRORS:
            return False
        if error.errno == errno.ENOENT:
            return self._root_seen and (not self.root.is_dir() or not any(self.root.iterdir()))
        return True

    def _retrying(self, action: str, fn: Callable[[], T]) -> T:
        """`fn` under the retry policy; OS errors become `LakeError` naming `action`."""
        try:
            return self.retry.call(action, fn, self._transient)
        except Exhausted as error:
            raise LakeUnavailable(f"cannot {action}: {error}") from error.__cause__
        except OSError as error:
            raise LakeError(f"cannot {action}: {error.strerror or error}") from error

    def list_folders(self) -> list[str]:
        if not self.root.exists():
            raise LakeError(f"lake root {self.root} does not exist")
        if not self.root.is_dir():
            raise LakeError(f"lake root {self.root} is not a directory")
        self._root_seen = True
        return sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())

    def is_empty(self) -> bool:
        return not self.root.exists() or super().is_empty()

    def list_files(self, folder: str) -> list[StoredFile]:
        def listing() -> list[StoredFile]:
            return [
                StoredFile(entry.name, entry.stat().st_size)
                for entry in os.scandir(self.root / folder)
                if entry.is_file() and not entry.name.startswith(".")
            ]

        files = self._retrying(f"list {self.root / folder}", listing)
        return sorted(files, key=lambda stored: stored.name)

    def read(self, folder: str, name: str, limit: int | None = None) -> bytes:
        path = self.root / folder / name

        def reading() -> bytes:
            with open(path, "rb") as handle:
                if limit is not None and os.fstat(handle.fileno()).st_size > limit:
                    return handle.read(limit + 1)
                return handle.read()  # sized by fstat: no buffer of `limit` bytes

        return self._retrying(f"read {path}", reading)

    def create(self, folder: str, name: str, data: bytes) -> None:
        final = self.root / folder / name
        try:
            self._retrying(f"write {final}", lambda: self._create(folder, name, data))
        except LakeError as error:
            if isinstance(error.__cause__, FileExistsError):
                raise FileExists(f"{final} already exists; refusing to overwrite it") from None
            raise

    def _create(self, folder: str, name: str, data: bytes) -> None:
        directory = self.root / folder
        directory.mkdir(parents=True, exist_ok=True)
        temp = directory / f".{name}.{os.getpid()}.tmp"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.link(temp, directory / name)  # atomic, and fails if the file exists
            if self.fsync:
                fsync_directory(directory)
        finally:
            temp.unlink(missing_ok=True)


@dataclass
class S3Settings:
    """How to reach S3; credentials come from the standard AWS chain unless given.

    An endpoint URL carrying credentials (``http://key:secret@host``) is refused without
    echoing it: give them as `access_key_id` / `secret_access_key` references.
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    max_attempts: int = 5
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.endpoint_url and url_has_credentials(self.endpoint_url):
            raise LakeError(
                "the S3 endpoint URL holds credentials (user:password@); not shown. Give them "
                "as access_key_id / secret_access_key ${VAR} references instead"
            )
        if self.endpoint_url and not is_http_url(self.endpoint_url):
            shown = UNSHOWN if "@" in self.endpoint_url else repr(self.endpoint_url)
            raise LakeError(
                f"S3 endpoint URL {shown} is not an http:// or https:// URL "
                "(e.g. http://127.0.0.1:8333)"
            )

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=config,
        )


UNSHOWN = "(not shown: it has an '@', maybe of user:password@)"
"""Said instead of quoting a URL that is refused and may hold credentials no parser finds
(``key:secret@host`` without a scheme)."""


def is_http_url(url: str) -> bool:
    """Whether a URL names a scheme boto3 can reach (http or https), a host, and a port
    (if any) from 0 to 65535."""
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError for 'host:99999' or 'host:port'
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def url_has_credentials(url: str) -> bool:
    """Whether a URL carries a user or password before its host."""
    try:
        parsed = urlparse(url)
    except ValueError:
        return "@" in url
    return bool(parsed.username or parsed.password or "@" in parsed.netloc)


THROTTLING_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestLimitExceeded",
     "InternalError", "ServiceUnavailable", "TooManyRequests"}
)  # fmt: skip

_answered: set[tuple[str | None, str]] = set()
"""(endpoint, bucket) pairs that answered this process at least once (see `_transient`)."""
_answered_lock = threading.Lock()


class S3Store(LakeStore):
    """A lake in an S3 bucket under a prefix (any S3-compatible server)."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        settings: S3Settings | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri = f"s3://{bucket}/{self.prefix}"
        self.settings = settings or S3Settings()
        self.retry = retry or RetryPolicy()
        self._client: Any = None
        self._conditional = True
        self._server = (self.settings.endpoint_url, bucket)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.settings.client()
        return self._client

    @property
    def answered(self) -> bool:
        """The server has answered this process before: a refused connection now is an
        outage to wait out. Before that, it is a wrong endpoint to report at once."""
        return self._server in _answered

    def _transient(self, error: BaseException) -> bool:
        from botocore.exceptions import (
            ClientError,
            HTTPClientError,
            IncompleteReadError,
            SSLError,
        )
        from botocore.exceptions import ConnectionError as ConnectionFailed

        if isinstance(error, ClientError):
            self._mark_answered()
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            code = error.response.get("Error", {}).get("Code", "")
            return status >= 500 or status == 429 or code in THROTTLING_CODES
        if isinstance(error, SSLError):
            return False
        if isinstance(error, ConnectionFailed):
            return self.answered or unreached_is_outage()
        return isinstance(error, HTTPClientError | IncompleteReadError | OSError) or (
            type(error).__module__.startswith(("urllib3", "http.client"))
        )

    def _mark_answered(self) -> None:
        if self._server not in _answered:
            with _answered_lock:
                _answered.add(self._server)

    def _request(self, action: str, fn: Callable[[], T]) -> T:
        """`fn` under the retry policy; errors become `LakeError`s naming `action`.
        A `ClientError` the caller handles itself (conditional writes) is re-raised."""
        from botocore.exceptions import BotoCoreError, ClientError
        from botocore.exceptions import ConnectionError as ConnectionFailed

        try:
            result = self.retry.call(action, fn, self._transient)
        except Exhausted as error:
            raise LakeUnavailable(f"{action} failed: {error}") from error.__cause__
        except ClientError:
            raise
        except ConnectionFailed as error:
            hint = "" if self.answered else " (no answer since start-up: is endpoint_url right?)"
            raise LakeError(f"{action} failed: {error}{hint}") from error
        except BotoCoreError as error:
            raise LakeError(f"{action} failed: {error}") from error
        self._mark_answered()
        return result

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        action = f"S3 {method} {what}"
        try:
            return self._request(
                action, lambda: getattr(self.client, method)(Bucket=self.bucket, **kwargs)
            )
        except ClientError as error:
            raise LakeError(f"{action} failed: {_code(error)}: {error}") from error

    def _paginate(self, prefix: str, delimiter: str | None) -> list[dict[str, Any]]:
        pages = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": prefix}
            if delimiter:
                kwargs["Delimiter"] = delimiter
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"s3://{self.bucket}/{prefix}", "list_objects_v2", **kwargs)
            pages.append(page)
            if not page.get("IsTruncated"):
                return pages
            token = page["NextContinuationToken"]

    def list_folders(self) -> list[str]:
        names = {
            common["Prefix"][len(self.prefix) :].rstrip("/")
            for page in self._paginate(self.prefix, "/")
            for common in page.get("CommonPrefixes", [])
        }
        return sorted(names)

    def list_files(self, folder: str) -> list[StoredFile]:
        base = f"{self.prefix}{folder}/"
        files = [
            StoredFile(obj["Key"][len(base) :], obj["Size"])
            for page in self._paginate(base, "/")
            for obj in page.get("Contents", [])
        ]
        return sorted(files, key=lambda stored: stored.name)

    def read(self, folder: str, name: str, limit: int | None = None) -> bytes:
        key = f"{self.prefix}{folder}/{name}"

        def get() -> bytes:  # the body is read in the same attempt: a reset mid-body retries
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                return body.read() if limit is None else body.read(limit + 1)
            finally:
                body.close()

        from botocore.exceptions import ClientError

        where = self.location(folder, name)
        try:
            return self._request(f"S3 get {where}", get)
        except ClientError as error:
            raise LakeError(f"S3 get {where} failed: {_code(error)}: {error}") from error

    def create(self, folder: str, name: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        key = f"{self.prefix}{folder}/{name}"
        where = self.location(folder, name)
        kwargs: dict[str, Any] = {"Key": key, "Body": data, "ContentType": "application/json"}
        if self._conditional:
            kwargs["IfNoneMatch"] = "*"
        try:
            self._request(
                f"S3 put {where}", lambda: self.client.put_object(Bucket=self.bucket, **kwargs)
            )
        except ClientError as error:
            code = _code(error)
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise FileExists(f"{where} already exists; refusing to overwrite it") from None
            if code == "NotImplemented" and self._conditional:
                self._conditional = False  # the server has no conditional writes
                self.create(folder, name, data)
                return
            raise LakeError(f"S3 put {where} failed: {code}: {error}") from error


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", "?"))


def parse_uri(uri: str) -> tuple[str, str, str]:
    """Split a lake URI into (scheme, bucket-or-root, prefix)."""
    if uri.startswith("s3://"):
        if url_has_credentials(uri):  # it would show in every location, log line and error
            raise LakeError(
                "lake URI holds credentials (user:password@), not shown: give them in the "
                "s3 settings as ${VAR} references"
            )
        parsed = urlparse(uri)
        if not parsed.netloc:
            raise LakeError(f"lake URI {uri!r} has no bucket (expected s3://bucket/prefix)")
        return "s3", parsed.netloc, parsed.path.lstrip("/")
    if "://" in uri and not uri.startswith("file://"):
        raise LakeError(f"lake URI {uri!r}: only local paths and s3://bucket/prefix are supported")
    return "file", uri.removeprefix("file://"), ""


def open_store(
    uri: str,
    s3: S3Settings | None = None,
    *,
    fsync: bool = True,
    retry: RetryPolicy | None = None,
) -> LakeStore:
    """The store for a local path or an ``s3://bucket/prefix`` URI."""
    scheme, root, prefix = parse_uri(uri)
    if scheme == "s3":
        return S3Store(root, prefix, s3, retry=retry)
    return LocalStore(root, fsync=fsync, retry=retry)
