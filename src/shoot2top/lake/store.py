"""Where lake files live: a local directory or an S3 bucket and prefix.

A store lists writer folders and their files, reads a file, and creates a file
*atomically and only if absent* — so a reader never sees a half-written micro-batch and
two writers can never overwrite each other. Locally that is a temp file hard-linked into
place; on S3 a single PUT with ``If-None-Match: *`` where the server supports it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shoot2top.state import fsync_directory


class LakeError(RuntimeError):
    """A lake operation failed; the message names the file or URI."""


class FileExists(LakeError):
    """A file that must be new already exists (another writer, or a rerun)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    size: int


class LakeStore(ABC):
    """A lake root: writer folders, each holding numbered micro-batch files."""

    uri: str

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
    def read(self, folder: str, name: str) -> bytes:
        """The bytes of one file; `LakeError` naming it if it cannot be read."""

    @abstractmethod
    def create(self, folder: str, name: str, data: bytes) -> None:
        """Make a complete file visible at once; `FileExists` if it is already there."""

    def location(self, folder: str, name: str | None = None) -> str:
        """A human-readable address of a folder or file, for messages and reports."""
        return "/".join(part for part in (self.uri.rstrip("/"), folder, name) if part)


class LocalStore(LakeStore):
    """A lake on the local filesystem."""

    def __init__(self, root: str | Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.uri = str(self.root)
        self.fsync = fsync

    def list_folders(self) -> list[str]:
        if not self.root.exists():
            raise LakeError(f"lake root {self.root} does not exist")
        if not self.root.is_dir():
            raise LakeError(f"lake root {self.root} is not a directory")
        return sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())

    def is_empty(self) -> bool:
        return not self.root.exists() or super().is_empty()

    def list_files(self, folder: str) -> list[StoredFile]:
        files = [
            StoredFile(entry.name, entry.stat().st_size)
            for entry in os.scandir(self.root / folder)
            if entry.is_file() and not entry.name.startswith(".")
        ]
        return sorted(files, key=lambda stored: stored.name)

    def read(self, folder: str, name: str) -> bytes:
        path = self.root / folder / name
        try:
            return path.read_bytes()
        except OSError as error:
            raise LakeError(f"cannot read {path}: {error.strerror or error}") from error

    def create(self, folder: str, name: str, data: bytes) -> None:
        directory = self.root / folder
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / name
        temp = directory / f".{name}.{os.getpid()}.tmp"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.link(temp, final)  # atomic, and fails if `final` exists
            if self.fsync:
                fsync_directory(directory)
        except FileExistsError:
            raise FileExists(f"{final} already exists; refusing to overwrite it") from None
        except OSError as error:
            raise LakeError(f"cannot write {final}: {error.strerror or error}") from error
        finally:
            temp.unlink(missing_ok=True)


@dataclass
class S3Settings:
    """How to reach S3; credentials come from the standard AWS chain unless given."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    max_attempts: int = 5
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0

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


class S3Store(LakeStore):
    """A lake in an S3 bucket under a prefix (any S3-compatible server)."""

    def __init__(self, bucket: str, prefix: str, settings: S3Settings | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri = f"s3://{bucket}/{self.prefix}"
        self.settings = settings or S3Settings()
        self._client: Any = None
        self._conditional = True

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.settings.client()
        return self._client

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "?")
            raise LakeError(f"S3 {method} {what} failed: {code}: {error}") from error
        except BotoCoreError as error:
            raise LakeError(f"S3 {method} {what} failed: {error}") from error

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

    def read(self, folder: str, name: str) -> bytes:
        key = f"{self.prefix}{folder}/{name}"
        response = self._call(self.location(folder, name), "get_object", Key=key)
        try:
            return response["Body"].read()
        except Exception as error:  # botocore/urllib3 raise several kinds mid-body
            raise LakeError(f"S3 read {self.location(folder, name)} failed: {error}") from error

    def create(self, folder: str, name: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = f"{self.prefix}{folder}/{name}"
        where = self.location(folder, name)
        kwargs: dict[str, Any] = {"Key": key, "Body": data, "ContentType": "application/json"}
        if self._conditional:
            kwargs["IfNoneMatch"] = "*"
        try:
            self.client.put_object(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "?")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise FileExists(f"{where} already exists; refusing to overwrite it") from None
            if code == "NotImplemented" and self._conditional:
                self._conditional = False  # the server has no conditional writes
                self.create(folder, name, data)
                return
            raise LakeError(f"S3 put {where} failed: {code}: {error}") from error
        except BotoCoreError as error:
            raise LakeError(f"S3 put {where} failed: {error}") from error


def parse_uri(uri: str) -> tuple[str, str, str]:
    """Split a lake URI into (scheme, bucket-or-root, prefix)."""
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        if not parsed.netloc:
            raise LakeError(f"lake URI {uri!r} has no bucket (expected s3://bucket/prefix)")
        return "s3", parsed.netloc, parsed.path.lstrip("/")
    if "://" in uri and not uri.startswith("file://"):
        raise LakeError(f"lake URI {uri!r}: only local paths and s3://bucket/prefix are supported")
    return "file", uri.removeprefix("file://"), ""


def open_store(uri: str, s3: S3Settings | None = None, *, fsync: bool = True) -> LakeStore:
    """The store for a local path or an ``s3://bucket/prefix`` URI."""
    scheme, root, prefix = parse_uri(uri)
    if scheme == "s3":
        return S3Store(root, prefix, s3)
    return LocalStore(root, fsync=fsync)
