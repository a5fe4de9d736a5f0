"""Config stage: a TOML file to a typed, validated `Config`.

Every problem is collected (not just the first) and names the file, the place (section or
source) and the key, so an editor fixes a config in one go.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds import PROJECT_URL, __version__
from feeds.config_paths import expand_path, resolved
from feeds.errors import FeedsError
from feeds.model import Rule, RuleAction, Source, SourceKind
from feeds.request_options import (
    OPTION_KEYS,
    RequestOptions,
    proxy_problem,
    read_request_options,
    user_agent_problem,
)
from feeds.source_identity import normalise_url
from feeds.sources.kind import KindDescription, Target
from feeds.sources.kinds import KINDS, describe, marker_keys
from feeds.sources.page_kind import SELECTOR_LIMIT
from feeds.web_url import is_web_url, unreachable_reason

DEFAULT_CONFIG = Path("config/feeds.toml")
CONFIG_ENV = "FEEDS_CONFIG"
DEFAULT_INTERVAL = timedelta(minutes=30)  # how often a source is fetched unless it says
MAX_CONFIG_BYTES = 16 * 1024**2  # 20,000 sources take about 3 MB
# Far beyond any use, and well inside what a date can be moved by (a lease or an interval
# added to now) and what the store's 64-bit integers hold.
MAX_DURATION = timedelta(days=3650)
MAX_SIZE = 1024**4  # 1 TiB: a body cap above it is no cap
MAX_ITEMS = 100_000  # [output] max_items and archive_size: a category's feed, a page
MAX_CONCURRENCY = 1_000  # [fetch] concurrency and per_host: open connections, at most


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a config file, and where."""

    file: Path
    where: str  # "[output]", 'sources[2] ("Heise")', or "" for the whole file
    key: str | None
    message: str

    def __str__(self) -> str:
        place = f"{self.where} " if self.where else ""
        key = f"key '{self.key}': " if self.key else ""
        return f"{self.file}: {place}{key}{self.message}"


class ConfigError(FeedsError):
    """The config cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class OutputConfig:
    dir: Path
    base_url: str  # always ends with "/"
    title: str
    max_items: int  # per category: retention and feed length
    archive_size: int = 50  # entries per RFC 5005 archive page; 0: no archives


@dataclass(frozen=True, slots=True)
class StorageConfig:
    url: str  # a SQLAlchemy URL with relative SQLite paths already resolved


@dataclass(frozen=True, slots=True)
class FetchConfig:
    user_agent: str
    connect_timeout: float
    read_timeout: float
    deadline: float  # overall seconds for one fetch, however the server trickles
    max_bytes: int  # decoded body size cap
    concurrency: int
    per_host: int
    parse_deadline: float  # seconds one body may take to parse before its worker is killed
    lease: timedelta = timedelta(minutes=5)  # a claim on a source; others take over after it
    allow_private_addresses: bool = True  # false: the SSRF guard refuses internal targets
    proxy: str | None = None  # None: the environment's (HTTP_PROXY...); "none": direct


@dataclass(frozen=True, slots=True)
class WebSubConfig:
    hub: str | None = None  # announced in every feed and pinged after a feed changes


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    output: OutputConfig
    storage: StorageConfig
    fetch: FetchConfig
    sources: tuple[Source, ...]
    rules: tuple[Rule, ...] = ()  # global rules, applied to every source's entries
    websub: WebSubConfig = WebSubConfig()


FULL_TEXT_KEYS = {"full_text", "content_selector"}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)", re.IGNORECASE)
_DURATION_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_RULE_FIELDS = ("title", "content", "author", "link")
# The keys of every [[sources]] table; a kind adds the key that marks it and its own.
_SOURCE_KEYS = {"name", "category", "interval", "language", "timezone", "rules"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_OWN = 'give the feeds a folder of their own, e.g. dir = "../output"'
_SIZE_UNITS = {
    "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3,
}  # fmt: skip


def parse_duration(value: object) -> timedelta:
    """`90s`, `15m`, `2h`, `1d`, `1h30m`, or a number of seconds (int, float or digits)."""
    if isinstance(value, bool):
        raise ValueError(f"bad duration {value!r} (use e.g. 90s, 15m, 2h, 1d)")
    is_number_text = isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()
    if isinstance(value, int | float) or is_number_text:
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts).lower() != text.lower():
            raise ValueError(f"bad duration {value!r} (use e.g. 90s, 15m, 2h, 1d)")
        seconds = sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in parts)
    else:
        raise ValueError(f"bad duration {value!r} (use e.g. 90s, 15m, 2h, 1d)")
    if not math.isfinite(seconds):
        raise ValueError(f"bad duration {value!r} (use e.g. 90s, 15m, 2h, 1d)")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {value!r} is too long (at most {MAX_DURATION.days}d)")
    duration = timedelta(seconds=seconds)
    if duration <= timedelta(0):  # also what rounds to zero at timedelta's microseconds
        raise ValueError(f"duration {value!r} must be more than zero")
    return duration


def format_duration(value: timedelta) -> str:
    """A duration as the config writes it: ``30m``, ``1h30m``, ``1d``, ``1.5s``."""
    seconds = value.total_seconds()
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


_DEFAULT_INTERVAL_TEXT = format_duration(DEFAULT_INTERVAL)


def parse_size(value: object) -> int:
    """`10MB`, `512KiB`, or a number of bytes: at least one byte, at most `MAX_SIZE`."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(value) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"bad size {value!r} (use e.g. 512KB, 10MB or a number of bytes)")
        number = float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
        size = int(number) if number <= MAX_SIZE else MAX_SIZE + 1  # inf, and 400 digits
    if size < 1:
        raise ValueError(f"size {value!r} must be at least one byte")
    if size > MAX_SIZE:
        raise ValueError(f"size {value!r} is too large (at most 1TiB)")
    return size


def sqlite_path(url: str) -> Path | None:
    """The database file of a `sqlite:///` store URL (resolved by the config), else None."""
    prefix, separator, rest = url.partition(":///")
    if not separator or prefix.split("+", 1)[0].lower() != "sqlite" or not rest:
        return None
    return Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)


def _overlap(one: Path, other: Path) -> bool:
    return one.is_relative_to(other) or other.is_relative_to(one)


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError):  # no HOME and no password entry
        return None


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config to use: the explicit path, else $FEEDS_CONFIG, else config/feeds.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    return Path(from_env) if from_env else DEFAULT_CONFIG


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError naming every problem."""

    def failed(message: str) -> ConfigError:
        return ConfigError([ConfigProblem(path, "", None, message)])

    try:
        data = _read_config_bytes(path)
    except FileNotFoundError:
        raise failed("file not found") from None
    except OSError as exc:
        raise failed(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise failed(f"larger than {MAX_CONFIG_BYTES // 1024**2} MiB")
    if data.startswith(b"\xef\xbb\xbf"):
        raise failed("starts with a byte order mark (BOM): save it as UTF-8 without one")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise failed(f"not UTF-8: byte {data[exc.start]:#04x} on line {line}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise failed(f"invalid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise failed("invalid TOML: nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than int() takes from text
        raise failed(f"invalid TOML: {exc}") from None
    return _ConfigReader(path).read(document)


def _read_config_bytes(path: Path) -> bytes:
    """The file's first bytes, up to one past the size limit. Opened without blocking and
    read only if it is a regular file: a FIFO named as the config must not hang a command."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(0, "not a regular file")
        return handle.read(MAX_CONFIG_BYTES + 1)


class _ConfigReader:
    """Validates one parsed TOML document, collecting problems as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.resolve().parent
        self.problems: list[ConfigProblem] = []
        # What every [[sources]] table of a kind may hold, and the intervals read so far,
        # by their text: worked out once, not per source (a config may have thousands).
        self.source_keys: dict[SourceKind | None, set[str]] = {}
        self.intervals: dict[str, timedelta] = {}

    def problem(self, where: str, key: str | None, message: str) -> None:
        self.problems.append(ConfigProblem(self.path, where, key, message))

    def read(self, data: Mapping[str, Any]) -> Config:
        self.check_keys(data, "", {"output", "storage", "fetch", "sources", "rules", "websub"})
        output = self.read_output(self.table(data, "output"))
        storage = self.read_storage(self.table(data, "storage"))
        fetch = self.read_fetch(self.table(data, "fetch"))
        sources = self.read_sources(data.get("sources", []))
        rules = self.read_rules(data.get("rules", []), "")
        websub = self.read_websub(self.table(data, "websub"))
        self.check_output_dir(output.dir, storage.url, sources)
        if self.problems:
            raise ConfigError(self.problems)
        return Config(self.path, output, storage, fetch, sources, rules, websub)

    # -- helpers -------------------------------------------------------------------------

    def table(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.problem("", name, f"must be a table ([{name}]), not {type(value).__name__}")
            return {}
        return value

    def check_keys(self, data: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem(where, key, f"unknown key (known keys: {known})")

    def get(self, data: Mapping[str, Any], where: str, key: str, kind: type, default: Any) -> Any:
        value = data.get(key, default)
        if value is default:
            return default
        if kind is int and isinstance(value, bool):
            value = None  # TOML booleans are ints to Python; not here
        if not isinstance(value, kind):
            self.problem(where, key, f"must be a {kind.__name__}, not {value!r}")
            return default
        return value

    def convert(
        self, data: Mapping[str, Any], where: str, key: str, parse: Any, default: str
    ) -> Any:
        """`data[key]` (or `default`) through `parse`; a ValueError becomes a problem."""
        try:
            return parse(data.get(key, default))
        except ValueError as exc:
            self.problem(where, key, str(exc))
            return parse(default)

    def seconds(self, data: Mapping[str, Any], where: str, key: str, default: str) -> float:
        duration: timedelta = self.convert(data, where, key, parse_duration, default)
        return duration.total_seconds()

    def resolve(self, value: str, where: str, key: str) -> Path | None:
        """A path the config names (relative ones from the config's folder), or None, with
        the problem noted, for one no file can have."""
        try:
            path = expand_path(value)
            return path if path.is_absolute() else resolved(self.root / path)
        except ValueError as exc:
            self.problem(where, key, str(exc))
            return None

    def check_url(self, where: str, key: str, url: str) -> bool:
        """Whether `url` is an absolute http(s) URL that could be fetched; the problem
        noted when it is not."""
        if not is_web_url(url):
            self.problem(where, key, f"must be an absolute http(s) URL, not {url!r}")
            return False
        reason = unreachable_reason(url)
        if reason is not None:
            self.problem(where, key, f"{reason}: {url!r}")
            return False
        return True

    def bounded(
        self, data: Mapping[str, Any], where: str, key: str, default: int, low: int, high: int
    ) -> int:
        """An integer key between `low` and `high`; the default, with the problem noted,
        for any other value."""
        value: int = self.get(data, where, key, int, default)
        if not low <= value <= high:
            self.problem(where, key, f"must be from {low:,} to {high:,}, not {value}")
            return default
        return value

    def text(self, data: Mapping[str, Any], where: str, key: str, default: str) -> str:
        """A text key that is published or sent as it is: no control characters."""
        value: str = self.get(data, where, key, str, default)
        if _CONTROL.search(value):
            self.problem(where, key, "must not contain control characters")
            return default
        return value

    # -- sections ------------------------------------------------------------------------

    def read_output(self, data: Mapping[str, Any]) -> OutputConfig:
        where = "[output]"
        self.check_keys(data, where, {"dir", "base_url", "title", "max_items", "archive_size"})
        default_dir = "../output"
        directory = self.resolve(self.get(data, where, "dir", str, default_dir), where, "dir")
        base_url = self.get(data, where, "base_url", str, "http://localhost:8080/")
        self.check_url(where, "base_url", base_url)
        if "?" in base_url or "#" in base_url:  # every published URL is base_url + a path
            self.problem(where, "base_url", f"must have no query or fragment, not {base_url!r}")
        if not base_url.endswith("/"):
            base_url += "/"
        title = self.text(data, where, "title", "feeds")
        max_items = self.bounded(data, where, "max_items", 200, 1, MAX_ITEMS)
        archive_size = self.bounded(data, where, "archive_size", 50, 0, MAX_ITEMS)
        if directory is None:
            directory = self.root / default_dir  # a problem is noted: never used
        return OutputConfig(directory, base_url, title, max_items, archive_size)

    def check_output_dir(
        self, directory: Path, store_url: str, sources: tuple[Source, ...] = ()
    ) -> None:
        """Refuse an output folder that holds more than our output: the temp-file sweep and
        `feeds serve` treat everything in it as ours. Nor may it lie in a local source's
        folder, whose every file is an editor's article."""
        try:
            output = resolved(directory)
        except ValueError as exc:
            self.problem("[output]", "dir", str(exc))
            return
        if output == Path(output.anchor):
            self.problem("[output]", "dir", f"{str(output)!r} is the file system's root; {_OWN}")
            return
        store = sqlite_path(store_url)
        home = _home()
        held = [(self.root, "the config file's folder")]
        held += [(store.parent.resolve(), "the store's folder")] if store is not None else []
        held += [(home, "the home folder")] if home is not None else []
        for folder, what in held:
            if folder.is_relative_to(output):
                where = "is" if folder == output else f"holds {folder},"
                self.problem("[output]", "dir", f"{str(output)!r} {where} {what}; {_OWN}")
                return
        for source in sources:
            if source.path is None:
                continue
            try:
                folder = resolved(source.path)
            except ValueError:
                continue  # reported with the source
            if _overlap(folder, output):
                self.problem(
                    "[output]",
                    "dir",
                    f"{str(output)!r} overlaps the folder of {source.name!r}"
                    f" ({str(folder)!r}), whose files are its articles; {_OWN}",
                )
                return

    def read_storage(self, data: Mapping[str, Any]) -> StorageConfig:
        where = "[storage]"
        self.check_keys(data, where, {"url"})
        url: str = self.get(data, where, "url", str, "sqlite:///../var/feeds.db")
        scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme == "sqlite":
            prefix = url.split(":///", 1)[0] + ":///"
            rest = url[len(prefix) :] if url.startswith(prefix) else ""
            if not rest or rest == ":memory:":
                self.problem(
                    where, "url", f"needs a file path, e.g. sqlite:///../var/feeds.db, not {url!r}"
                )
            elif "\x00" in rest:
                self.problem(where, "url", "holds a NUL byte, which no path can")
            elif not rest.startswith("/"):
                url = prefix + str(self.resolve(rest, where, "url"))
        elif scheme not in ("postgresql", "postgres"):
            self.problem(
                where, "url", f"unsupported database {url!r} (use sqlite:/// or postgresql://)"
            )
        return StorageConfig(url)

    def read_fetch(self, data: Mapping[str, Any]) -> FetchConfig:
        where = "[fetch]"
        keys = {"user_agent", "connect_timeout", "read_timeout", "deadline", "max_body",
                "concurrency", "per_host", "parse_deadline", "lease",
                "allow_private_addresses", "proxy"}  # fmt: skip
        self.check_keys(data, where, keys)
        concurrency = self.bounded(data, where, "concurrency", 16, 1, MAX_CONCURRENCY)
        per_host = self.bounded(data, where, "per_host", 2, 1, MAX_CONCURRENCY)
        return FetchConfig(
            user_agent=self.read_user_agent(data, where),
            connect_timeout=self.seconds(data, where, "connect_timeout", "10s"),
            read_timeout=self.seconds(data, where, "read_timeout", "20s"),
            deadline=self.seconds(data, where, "deadline", "60s"),
            max_bytes=self.convert(data, where, "max_body", parse_size, "20MB"),
            concurrency=concurrency,
            per_host=per_host,
            parse_deadline=self.seconds(data, where, "parse_deadline", "30s"),
            lease=self.convert(data, where, "lease", parse_duration, "5m"),
            allow_private_addresses=self.get(data, where, "allow_private_addresses", bool, True),
            proxy=self.read_proxy(data, where),
        )

    def read_user_agent(self, data: Mapping[str, Any], where: str) -> str:
        """`[fetch] user_agent`, checked as a source's own (`feeds.request_options`): it
        goes into every request's header as it is."""
        default = f"feeds/{__version__} (+{PROJECT_URL})"
        value: str = self.get(data, where, "user_agent", str, default)
        reason = user_agent_problem(value)
        if reason is not None:
            self.problem(where, "user_agent", reason)
            return default
        return value

    def read_proxy(self, data: Mapping[str, Any], where: str) -> str | None:
        """`[fetch] proxy`: an http(s) proxy URL or "none" (see feeds.request_options)."""
        proxy: str | None = self.get(data, where, "proxy", str, None)
        reason = proxy_problem(proxy) if proxy is not None else None
        if reason is not None:
            self.problem(where, "proxy", reason)
            return None
        return proxy

    def read_request_options(
        self, data: Mapping[str, Any], where: str, *, remote: bool
    ) -> RequestOptions:
        """A source's own request options (feeds.request_options), secrets read now."""
        options, problems = read_request_options(data, self.root, os.environ, remote=remote)
        for key, message in problems:
            self.problem(where, key, message)
        return options

    def read_websub(self, data: Mapping[str, Any]) -> WebSubConfig:
        where = "[websub]"
        self.check_keys(data, where, {"hub"})
        hub = self.get(data, where, "hub", str, None)
        if hub is not None and not self.check_url(where, "hub", hub):
            hub = None
        return WebSubConfig(hub)

    def check_same_sources(self, placed: list[tuple[str, Source]]) -> None:
        """Two sources that read the same feed or files would publish every entry twice."""
        urls: dict[str, str] = {}
        folders: list[tuple[str, Path]] = []
        for where, source in placed:
            if source.url is not None:
                other = urls.setdefault(normalise_url(source.url), where)
                if other != where:
                    kind = describe(source.kind)
                    noun = "feed" if kind.is_feed else "address"
                    self.problem(where, kind.key, f"same {noun} as {other} ({source.url!r})")
            elif source.path is not None:
                try:
                    path = resolved(source.path)
                except ValueError as exc:
                    self.problem(where, "path", str(exc))
                    continue
                clash = next((o for o in folders if _overlap(path, o[1])), None)
                if clash is not None and clash[1] == path:
                    self.problem(where, "path", f"same path as {clash[0]} ({str(path)!r})")
                elif clash is not None:
                    inner, outer = (
                        (where, clash[0]) if path.is_relative_to(clash[1]) else (clash[0], where)
                    )
                    self.problem(
                        where,
                        "path",
                        f"{inner} lies inside the folder of {outer}: its files would be read twice",
                    )
                folders.append((where, path))

    def read_sources(self, raw: Any) -> tuple[Source, ...]:
        if not isinstance(raw, list):
            self.problem("", "sources", "must be an array of tables ([[sources]])")
            return ()
        placed: list[tuple[str, Source]] = []
        names: dict[str, int] = {}
        for index, data in enumerate(raw, start=1):
            where = f"sources[{index}]"
            if not isinstance(data, dict):
                self.problem(where, None, "must be a table ([[sources]])")
                continue
            name = data.get("name")
            if isinstance(name, str) and _CONTROL.search(name):
                self.problem(where, "name", "must not contain control characters")
            elif isinstance(name, str) and name.strip():
                where = f'sources[{index}] ("{name}")'
                if name in names:
                    self.problem(
                        where, "name", f"duplicate name, already used by sources[{names[name]}]"
                    )
                names.setdefault(name, index)
            elif name is not None and not isinstance(name, str):
                self.problem(where, "name", f"must be a string, not {name!r}")
            else:
                self.problem(where, "name", "missing: every source needs a non-empty name")
            source = self.read_source(data, where, name if isinstance(name, str) else "")
            if source is not None:
                placed.append((where, source))
        self.check_same_sources(placed)
        return tuple(source for _, source in placed)

    def read_rules(self, raw: Any, owner: str) -> tuple[Rule, ...]:
        """`[[rules]]` (global) or `[[sources.rules]]`: an action and regexes on fields."""
        if not isinstance(raw, list):
            self.problem(owner, "rules", "must be an array of tables ([[rules]])")
            return ()
        rules = []
        for index, data in enumerate(raw, start=1):
            where = f"{owner} rules[{index}]".strip()
            if not isinstance(data, dict):
                self.problem(where, None, "must be a table")
                continue
            self.check_keys(data, where, {"action", *_RULE_FIELDS, "category"})
            action = data.get("action")
            if not isinstance(action, str) or action not in {a.value for a in RuleAction}:
                self.problem(where, "action", f"must be keep, drop or category, not {action!r}")
                continue
            patterns = {}
            for field_name in _RULE_FIELDS:
                text = self.get(data, where, field_name, str, None)
                if text is None:
                    continue
                try:
                    patterns[field_name] = re.compile(text)
                except (re.error, OverflowError, RecursionError) as exc:
                    # OverflowError: a repeat count over sre's; RecursionError: groups
                    # nested deeper than its parser recurses.
                    reason = str(exc) if isinstance(exc, re.error) else "too large or nested"
                    message = f"invalid regular expression {text!r}: {reason}"
                    self.problem(where, field_name, message)
            if not patterns and not any(f in data for f in _RULE_FIELDS):
                self.problem(where, None, f"needs at least one of {', '.join(_RULE_FIELDS)}")
            category = self.get(data, where, "category", str, None)
            if (action == RuleAction.CATEGORY) != bool(category and category.strip()):
                self.problem(where, "category", 'is required with action = "category" only')
            rules.append(Rule(RuleAction(action), category=category, **patterns))
        return tuple(rules)

    def read_source(self, data: Mapping[str, Any], where: str, name: str) -> Source | None:
        """One [[sources]] table: the keys every source has, and its kind's own (the kind
        is the one whose key is present: url, path, ...; see `feeds.sources.kinds`)."""
        marked = [kind for kind in KINDS.values() if kind.key in data]
        kind = marked[0] if len(marked) == 1 else None
        # With several kinds' keys, each one's own keys are known: only the clash is wrong.
        allowed = set().union(*(self.keys_of(k) for k in marked)) if marked else self.keys_of(None)
        self.check_keys(data, where, allowed)
        before = len(self.problems)
        target = self.get(data, where, kind.key, str, None) if kind is not None else None
        if target is not None and not target.strip():
            self.problem(where, kind.key if kind is not None else None, "must not be empty")
        category = self.get(data, where, "category", str, None)
        if category is not None and not category.strip():
            self.problem(where, "category", "must not be empty")
        elif category is not None and _CONTROL.search(category):
            self.problem(where, "category", "must not contain control characters")
        interval = self.interval(data, where)
        language = self.get(data, where, "language", str, None)
        timezone = self.get(data, where, "timezone", str, "UTC")
        rules = self.read_rules(data.get("rules", []), where)
        full_text, content_selector = self.read_full_text(data, where, kind)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a name that is a folder of the zone database ("America") or one too
            # long for a file name.
            self.problem(
                where, "timezone", f"unknown time zone {timezone!r} (use e.g. Europe/Berlin)"
            )
        if kind is None:
            keys = [f"'{key}'" for key in marker_keys()]
            if marked:
                given = " and ".join(f"'{k.key}'" for k in marked)
                message = f"has {given}: give exactly one of {', '.join(keys)}"
            else:
                named = " and ".join([", ".join(keys[:-1]), keys[-1]])
                message = f"has neither of {named}: give exactly one"
            self.problem(where, marked[0].key if marked else "url", message)
            return None
        options = None
        if kind.read_options is not None:
            options = kind.read_options(data, lambda key, text: self.problem(where, key, text))
        if target is not None and kind.target is Target.WEB:
            if _CONTROL.search(target):  # urlsplit drops tabs and newlines without a word
                self.problem(where, kind.key, "must not contain control characters")
            else:
                self.check_url(where, kind.key, target)
        if category is None and kind.needs_category:
            self.problem(where, "category", f"missing: a {kind.noun} needs a category")
        web = kind.target is Target.WEB
        request = self.read_request_options(data, where, remote=web)
        path = None if web or target is None else self.resolve(target, where, kind.key)
        if len(self.problems) > before or target is None:
            return None
        return Source(
            name=name,
            kind=kind.kind,
            interval=interval,
            url=target if web else None,
            path=path,
            category=category,
            language=language,
            timezone=timezone,
            rules=rules,
            options=options,
            request=request,
            full_text=full_text,
            content_selector=content_selector,
        )

    def keys_of(self, kind: KindDescription | None) -> set[str]:
        """The keys a [[sources]] table of `kind` may hold (None: of no one kind)."""
        name = kind.kind if kind is not None else None
        if name not in self.source_keys:
            own = kind.own_keys if kind is not None else frozenset()
            marked = set(marker_keys())
            self.source_keys[name] = _SOURCE_KEYS | marked | own | OPTION_KEYS | FULL_TEXT_KEYS
        return self.source_keys[name]

    def interval(self, data: Mapping[str, Any], where: str) -> timedelta:
        """A source's `interval`; the same text is parsed once."""
        text = data.get("interval", _DEFAULT_INTERVAL_TEXT)
        if isinstance(text, str) and text in self.intervals:
            return self.intervals[text]
        before = len(self.problems)
        interval: timedelta = self.convert(
            data, where, "interval", parse_duration, _DEFAULT_INTERVAL_TEXT
        )
        if isinstance(text, str) and len(self.problems) == before:  # a bad one, every time
            self.intervals[text] = interval
        return interval

    def read_full_text(
        self, data: Mapping[str, Any], where: str, kind: KindDescription | None
    ) -> tuple[bool, str | None]:
        """`full_text` and `content_selector` of a source fetched from the web: whether to
        fetch each entry's page for its article text, and where on the page the article is."""
        full_text = self.get(data, where, "full_text", bool, False)
        selector = self.get(data, where, "content_selector", str, None)
        if selector is not None and len(selector) > SELECTOR_LIMIT:
            self.problem(where, "content_selector", f"longer than {SELECTOR_LIMIT} characters")
        elif selector is not None:
            from feeds.parse.page import SelectorError, compile_selector  # parsing: when used

            try:
                compile_selector(selector)
            except SelectorError as exc:
                self.problem(where, "content_selector", str(exc))
            if data.get("full_text") is False:
                self.problem(where, "content_selector", "is set but full_text = false")
            full_text = True  # a selector says where the full text is: it asks for it
        if full_text and kind is not None and kind.target is not Target.WEB:
            key = "content_selector" if selector is not None else "full_text"
            web = ", ".join(k.key for k in KINDS.values() if k.target is Target.WEB)
            self.problem(where, key, f"applies to sources fetched from the web ({web}) only")
        return full_text, selector
