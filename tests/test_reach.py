"""Reaching feeds behind proxies and logins, on real loopback servers: environment and
configured proxies, NO_PROXY, per-source user agent, headers, cookies, basic auth and
bearer tokens; secrets kept from other hosts after a redirect and out of every log line,
status output and error; conditional GET and the politeness limits unchanged.

Origins: scheme, host and port. Two servers on 127.0.0.1 (different ports) are two origins,
and so are http://127.0.0.1:P and http://localhost:P (the same server by another name).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import forwardproxy
from support.configfile import write_config
from support.feedfactory import FeedItem, rss20
from support.feeds_cli import run_feeds
from support.feedserver import FeedServer, serve
from support.forwardproxy import ForwardProxy

from feeds.config import Config, FetchConfig, load_config
from feeds.model import FetchOutcome, FetchState, Source
from feeds.request_options import RequestOptions
from feeds.sources.proxies import EnvironmentProxies, Route
from feeds.sources.remote import FetchResponse, fetch_source, make_client
from feeds.sources.transport import MAX_PROXY_POOLS, RoutingTransport
from feeds.store import ArticleStore
from feeds.update.run import UpdateReport, update_sources
from feeds.websub import announce

FEED = rss20([FeedItem(id="1", title="one", link="https://e.org/1")])
UA = "Mozilla/5.0 (compatible; feeds)"
PASSWORD = "correct-horse-battery"
TOKEN = "tok-0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"editor:{PASSWORD}".encode()).decode()


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    yield from forwardproxy.serve()


@pytest.fixture
def other_server() -> Iterator[FeedServer]:
    yield from serve()


def source_table(name: str, url: str, options: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\ncategory = "C"\n{options}\n'


def fetch(
    config: FetchConfig,
    url: str,
    source: Source | None = None,
    env: Mapping[str, str] | None = None,
    state: FetchState | None = None,
) -> FetchResponse:
    async def go() -> FetchResponse:
        async with make_client(config, env=env or {}) as client:
            options = source.request if source is not None else None
            home = source.url if source is not None else None
            return await fetch_source(client, url, state, config, options, home)

    return asyncio.run(go())


def update(config: Config, env: Mapping[str, str] | None = None) -> UpdateReport:
    async def go() -> UpdateReport:
        store = ArticleStore.open(config.storage.url)
        try:
            async with make_client(config.fetch, env=env or {}) as client:
                return await update_sources(
                    config, store, client, lambda: datetime.now(UTC), force=True
                )
        finally:
            store.close()

    return asyncio.run(go())


# -- proxies --------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_environment_proxy_is_used(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy, variable: str
) -> None:
    url = feed_server.add("/f", FEED)
    config = load_config(write_config(tmp_path, "")).fetch
    response = fetch(config, url, env={variable: proxy.url})
    assert response.error is None and response.body == FEED
    assert proxy.urls() == [url]  # the proxy was asked for the absolute URL
    assert len(feed_server.requests_to("/f")) == 1


def test_https_proxy_is_not_used_for_http_and_lower_case_wins(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    url = feed_server.add("/f", FEED)
    config = load_config(write_config(tmp_path, "")).fetch
    assert fetch(config, url, env={"HTTPS_PROXY": "http://127.0.0.1:9"}).error is None
    assert proxy.urls() == []
    # Both spellings set: the lower-case one is used (curl, Python and httpx agree).
    env = {"http_proxy": proxy.url, "HTTP_PROXY": "http://127.0.0.1:9"}
    assert fetch(config, url, env=env).error is None
    assert proxy.urls() == [url]


@pytest.mark.parametrize(
    ("no_proxy", "proxied"),
    [
        ("127.0.0.1", False),
        ("localhost,127.0.0.0/8", False),
        ("*", False),
        ("x.org, 127.0.0.1", False),
        ("localhost,127.0.0.1:1,example.org", True),  # another name, another port
    ],
)
def test_no_proxy_sends_direct(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy, no_proxy: str, proxied: bool
) -> None:
    url = feed_server.add("/f", FEED)
    config = load_config(write_config(tmp_path, "")).fetch
    response = fetch(config, url, env={"HTTP_PROXY": proxy.url, "NO_PROXY": no_proxy})
    assert response.error is None
    assert proxy.urls() == ([url] if proxied else [])
    assert len(feed_server.requests_to("/f")) == 1


@pytest.mark.parametrize(
    ("url", "no_proxy", "bypass"),
    [
        ("http://example.org/f", "example.org", True),
        ("http://feeds.example.org/f", "example.org", True),
        ("http://feeds.example.org/f", ".example.org", True),
        ("http://feeds.example.org/f", "*.example.org", True),
        ("http://notexample.org/f", "example.org", False),
        ("http://example.org.evil.net/f", "example.org", False),
        ("http://EXAMPLE.org/f", " Example.ORG ", True),
        ("http://example.org:8080/f", "example.org:8080", True),
        ("http://example.org/f", "example.org:8080", False),
        ("https://example.org/f", "example.org:443", True),
        ("http://10.1.2.3/f", "10.0.0.0/8", True),
        ("http://11.1.2.3/f", "10.0.0.0/8", False),
        ("http://[::1]:8080/f", "[::1]:8080", True),
        ("http://[::1]/f", "::1", True),
        ("http://[fd00::5]/f", "fd00::/8", True),
        ("http://example.org/f", "*", True),
        ("http://example.org/f", "", False),
    ],
)
def test_no_proxy_entries(url: str, no_proxy: str, bypass: bool) -> None:
    proxies = EnvironmentProxies.read({"ALL_PROXY": "proxy.corp:3128", "no_proxy": no_proxy})
    route = proxies.route(url)
    assert (route is None) is bypass
    if route is not None:  # "host:port" is read as curl reads it
        assert route == Route("http://proxy.corp:3128", "ALL_PROXY")


def test_fetch_proxy_and_source_proxy(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy, other_server: FeedServer
) -> None:
    """[fetch] proxy beats the environment; a source's proxy beats both, "none" goes
    direct; NO_PROXY concerns the environment's proxies only."""
    via_fetch = feed_server.add("/fetch", FEED)
    direct = feed_server.add("/direct", FEED)
    own = feed_server.add("/own", FEED)
    path = write_config(
        tmp_path,
        f'[fetch]\nproxy = "{proxy.url}"\n'
        + source_table("Fetch", via_fetch)
        + source_table("Direct", direct, 'proxy = "none"')
        + source_table("Own", own, f'proxy = "{other_server.base_url}"'),
    )
    other_server.routes.clear()  # the second "proxy" is a feed server: it logs, answers 404
    env = {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}
    report = update(load_config(path), env)
    results = {r.source: r for r in report.results}
    assert results["Fetch"].errors == () and results["Direct"].errors == ()
    assert proxy.urls() == [via_fetch]
    assert [r.path for r in other_server.requests] == [own]  # an absolute URL: a proxy request
    assert len(feed_server.requests_to("/direct")) == 1
    assert feed_server.requests_to("/own") == []


def test_fetch_proxy_none_ignores_the_environment(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    url = feed_server.add("/f", FEED)
    config = load_config(write_config(tmp_path, '[fetch]\nproxy = "none"\n')).fetch
    assert fetch(config, url, env={"HTTP_PROXY": proxy.url}).error is None
    assert proxy.urls() == []


def test_proxy_credentials_go_to_the_proxy_and_nowhere_else(
    tmp_path: Path,
    feed_server: FeedServer,
    proxy: ForwardProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = feed_server.add("/f", FEED)
    host_port = proxy.url.removeprefix("http://")
    config = load_config(write_config(tmp_path, "")).fetch
    with caplog.at_level(logging.DEBUG):
        response = fetch(config, url, env={"HTTP_PROXY": f"http://pxuser:px%40pw77@{host_port}"})
    assert response.error is None
    sent = proxy.requests[0].headers["proxy-authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == b"pxuser:px@pw77"
    assert "proxy-authorization" not in feed_server.requests_to("/f")[0].headers
    assert f"fetching through proxy http://***@{host_port} (HTTP_PROXY)" in caplog.text
    assert "px%40pw77" not in caplog.text and "px@pw77" not in caplog.text


def test_an_unreachable_proxy_is_named_masked_in_the_error(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/f", FEED)
    path = write_config(tmp_path, '[fetch]\nproxy = "http://pxuser:pw-never-shown@127.0.0.1:9"\n')
    response = fetch(load_config(path).fetch, url)
    assert response.error is not None
    assert "cannot connect" in response.error
    assert "(through http://***@127.0.0.1:9)" in response.error
    assert "pw-never-shown" not in response.error and "pxuser" not in response.error
    assert feed_server.requests_to("/f") == []


def test_an_unusable_environment_proxy_fails_the_fetch_clearly(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/f", FEED)
    config = load_config(write_config(tmp_path, "")).fetch
    response = fetch(config, url, env={"HTTP_PROXY": "socks5://u:sockspw1@127.0.0.1:1080"})
    assert response.error is not None
    assert "the proxy from HTTP_PROXY is unusable" in response.error
    assert "sockspw1" not in response.error
    assert feed_server.requests_to("/f") == []


def test_guard_judges_the_target_not_the_proxy(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    """With allow_private_addresses = false, a loopback target is refused through a proxy as
    it is directly, while the proxy's own loopback address is the operator's choice."""
    feed_server.add("/f", FEED)
    host, port = feed_server.httpd.server_address[:2]
    proxy.upstream["8.8.8.8:80"] = (str(host), port)  # nothing leaves the machine
    path = write_config(
        tmp_path, f'[fetch]\nallow_private_addresses = false\nproxy = "{proxy.url}"\n'
    )
    config = load_config(path).fetch
    refused = fetch(config, feed_server.url("/f"))
    assert refused.error is not None and "refused to connect to 127.0.0.1" in refused.error
    assert proxy.urls() == []  # not a byte went to the proxy for it
    public = fetch(config, "http://8.8.8.8/f")
    assert public.error is None and public.body == FEED
    assert proxy.urls() == ["http://8.8.8.8/f"]


def test_one_pool_per_distinct_proxy_not_per_source(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    tables = []
    for index in range(12):
        url = feed_server.add(f"/f{index}", FEED)
        options = f'proxy = "{proxy.url}"' if index < 4 else ""
        options = 'proxy = "none"' if index == 4 else options
        tables.append(source_table(f"S{index}", url, options))
    config = load_config(write_config(tmp_path, "".join(tables)))

    async def go() -> int:
        transport = RoutingTransport(config.fetch, {"HTTP_PROXY": proxy.url, "NO_PROXY": "x"})
        store = ArticleStore.open(config.storage.url)
        try:
            async with make_client(config.fetch, transport) as client:
                report = await update_sources(config, store, client, lambda: datetime.now(UTC))
            assert all(r.errors == () for r in report.results)
            return len(transport.proxied)
        finally:
            store.close()

    # Four sources name the proxy, seven take it from the environment: one pool for all.
    assert asyncio.run(go()) == 1
    assert len(proxy.urls()) == 11
    assert len(feed_server.requests_to("/f4")) == 1


def test_idle_proxy_pools_are_bounded(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    url = feed_server.add("/f", FEED)
    config = load_config(write_config(tmp_path, "")).fetch
    host_port = proxy.url.removeprefix("http://")
    spellings = [f"http://user{index}@{host_port}" for index in range(MAX_PROXY_POOLS + 8)]

    async def go() -> int:
        transport = RoutingTransport(config, {})
        async with make_client(config, transport) as client:
            for spelling in spellings:  # each a distinct proxy to the pool cache
                options = RequestOptions(proxy=spelling)
                assert (await fetch_source(client, url, None, config, options)).error is None
            return len(transport.proxied)

    assert asyncio.run(go()) == MAX_PROXY_POOLS
    assert len(proxy.urls()) == len(spellings)


def test_websub_pings_go_through_the_fetch_proxy(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    hub = feed_server.url("/hub")
    feed_server.add("/hub", b"", status=204)
    config = load_config(write_config(tmp_path, f'[fetch]\nproxy = "{proxy.url}"\n')).fetch

    async def go() -> list[str]:
        async with make_client(config, env={}) as client:
            return await announce(client, hub, ["https://example.org/feed.xml"])

    assert asyncio.run(go()) == []
    assert proxy.urls() == [hub]
    assert feed_server.requests_to("/hub")[0].method == "POST"


# -- per-source request options ------------------------------------------------------------


def demanding_config(tmp_path: Path, url: str, options: str) -> Config:
    return load_config(write_config(tmp_path, source_table("S", url, options)))


ALL_OPTIONS = (
    f'user_agent = "{UA}"\nheaders = {{ "X-Api-Key" = "key-abc-123" }}\n'
    'cookies = { consent = "yes", session = "sess-98765" }\n'
    'username = "editor"\npassword_env = "FEEDS_TEST_PW"\n'
)


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"FEEDS_TEST_PW": PASSWORD, "FEEDS_TEST_TOKEN": TOKEN}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


DEMANDS = {
    "user-agent": UA,
    "x-api-key": "key-abc-123",
    "cookie": "consent=yes; session=sess-98765",
    "authorization": BASIC,
}


def test_each_option_is_sent(
    tmp_path: Path, feed_server: FeedServer, secrets_env: dict[str, str]
) -> None:
    url = feed_server.add("/f", FEED, demands=DEMANDS)
    config = demanding_config(tmp_path, url, ALL_OPTIONS)
    assert fetch(config.fetch, url, config.sources[0]).status == 200
    # Without any one of them, the server says no: each option is what let us in.
    for dropped in ("user_agent", "headers", "cookies", "username"):
        kept = "\n".join(
            line
            for line in ALL_OPTIONS.splitlines()
            if not line.startswith(dropped) and not (dropped == "username" and "password" in line)
        )
        config = demanding_config(tmp_path, url, kept)
        response = fetch(config.fetch, url, config.sources[0])
        assert response.status in (401, 403), dropped


def test_a_bearer_token_from_a_file_or_the_environment(
    tmp_path: Path, feed_server: FeedServer, secrets_env: dict[str, str]
) -> None:
    url = feed_server.add("/f", FEED, demands={"authorization": f"Bearer {TOKEN}"})
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    for options in ('token_env = "FEEDS_TEST_TOKEN"', 'token_file = "token"'):
        config = demanding_config(tmp_path, url, options)
        assert fetch(config.fetch, url, config.sources[0]).status == 200
    assert fetch(config.fetch, url).status == 401


@pytest.mark.parametrize("elsewhere", ["other port", "localhost"])
def test_secrets_stay_behind_on_a_cross_origin_redirect(
    tmp_path: Path,
    feed_server: FeedServer,
    other_server: FeedServer,
    secrets_env: dict[str, str],
    elsewhere: str,
) -> None:
    if elsewhere == "other port":
        target = other_server.add("/feed", FEED)
        landed = other_server
    else:
        target = feed_server.add("/feed", FEED).replace("127.0.0.1", "localhost")
        landed = feed_server
    url = feed_server.add("/start", b"", status=302, headers={"location": target})
    config = demanding_config(tmp_path, url, ALL_OPTIONS)
    response = fetch(config.fetch, url, config.sources[0])
    assert response.status == 200 and response.final_url == target
    first = feed_server.requests_to("/start")[0].headers
    assert first["authorization"] == BASIC and first["x-api-key"] == "key-abc-123"
    after = landed.requests_to("/feed")[0].headers
    for name in ("authorization", "cookie", "x-api-key"):
        assert name not in after, name
    assert after["user-agent"] == UA  # not a secret: every request carries one


def test_secrets_follow_a_same_origin_redirect(
    tmp_path: Path, feed_server: FeedServer, secrets_env: dict[str, str]
) -> None:
    target = feed_server.add("/feed", FEED, demands=DEMANDS)
    url = feed_server.add("/start", b"", status=301, headers={"location": "/feed"})
    config = demanding_config(tmp_path, url, ALL_OPTIONS)
    response = fetch(config.fetch, url, config.sources[0])
    assert response.status == 200 and response.permanent_url == target


def test_secrets_stay_with_the_configured_origin_after_a_permanent_move(
    tmp_path: Path, feed_server: FeedServer, other_server: FeedServer, secrets_env: dict[str, str]
) -> None:
    """A 301 to another host is learnt; later fetches go there directly, still without
    the credentials of the host the config names."""
    target = other_server.add("/feed", FEED)
    url = feed_server.add("/start", b"", status=301, headers={"location": target})
    config = demanding_config(tmp_path, url, ALL_OPTIONS)
    assert update(config).results[0].errors == ()
    assert update(config).results[0].errors == ()
    assert len(feed_server.requests_to("/start")) == 1  # the second went straight there
    for request in other_server.requests_to("/feed"):
        assert "authorization" not in request.headers and "cookie" not in request.headers


def test_cookies_from_responses_are_never_kept(
    tmp_path: Path, feed_server: FeedServer, secrets_env: dict[str, str]
) -> None:
    url = feed_server.add("/f", FEED, headers={"set-cookie": "tracker=abc; Path=/"})
    config = demanding_config(tmp_path, url, ALL_OPTIONS)
    for _ in range(2):
        assert fetch(config.fetch, url, config.sources[0]).status == 200
    cookies = [r.headers["cookie"] for r in feed_server.requests_to("/f")]
    assert cookies == ["consent=yes; session=sess-98765"] * 2


def test_options_through_a_proxy(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy, secrets_env: dict[str, str]
) -> None:
    url = feed_server.add("/f", FEED, demands=DEMANDS)
    config = demanding_config(tmp_path, url, ALL_OPTIONS + f'proxy = "{proxy.url}"\n')
    assert fetch(config.fetch, url, config.sources[0]).status == 200
    assert proxy.urls() == [url]


# -- conditional GET and politeness, unchanged ----------------------------------------------


def test_validators_go_with_the_options_and_304_holds(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy, secrets_env: dict[str, str]
) -> None:
    url = feed_server.add(
        "/f", FEED, demands=DEMANDS, headers={"last-modified": "Sat, 05 Dec 2026 10:00:00 GMT"}
    )
    config = demanding_config(tmp_path, url, ALL_OPTIONS + f'proxy = "{proxy.url}"\n')
    first, second = update(config), update(config)
    assert first.results[0].new == 1
    assert second.results[0].outcome is FetchOutcome.NOT_MODIFIED
    again = feed_server.requests_to("/f")[1].headers
    assert again["if-none-match"].startswith('"')
    assert again["if-modified-since"] == "Sat, 05 Dec 2026 10:00:00 GMT"
    assert again["authorization"] == BASIC


def test_retry_after_holds_with_options(
    tmp_path: Path, feed_server: FeedServer, secrets_env: dict[str, str]
) -> None:
    url = feed_server.add("/f", b"", status=503, headers={"retry-after": "7200"})
    config = demanding_config(tmp_path, url, ALL_OPTIONS)
    update(config)
    store = ArticleStore.open(config.storage.url)
    try:
        state = store.fetch_state("S")
    finally:
        store.close()
    assert state is not None and state.due_reason == "Retry-After"


def test_per_host_limit_holds_across_proxies(
    tmp_path: Path, feed_server: FeedServer, proxy: ForwardProxy
) -> None:
    """Sources of one host count against one per-host limit, whatever proxy each uses."""
    tables = ""
    for index, options in enumerate(("", 'proxy = "none"', f'proxy = "{proxy.url}"') * 2):
        url = feed_server.add(f"/f{index}", FEED, delay=0.2)
        tables += source_table(f"S{index}", url, options)
    config = load_config(write_config(tmp_path, "[fetch]\nper_host = 1\n" + tables))
    report = update(config, {"HTTP_PROXY": proxy.url})
    assert all(r.errors == () for r in report.results)
    assert feed_server.most_in_flight == 1


# -- secrets in no log line, status output or error -----------------------------------------


def test_secrets_reach_no_log_status_or_error(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/ok", FEED, demands=DEMANDS)
    feed_server.add("/ok2", FEED)
    feed_server.add("/denied", FEED, demands={"authorization": "Bearer another-token"})
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        source_table(
            "Ok",
            feed_server.url("/ok"),
            ALL_OPTIONS.replace('password_env = "FEEDS_TEST_PW"', 'password_file = "pw"'),
        )
        + source_table("Denied", feed_server.url("/denied"), 'token_env = "FEEDS_TEST_TOKEN"')
        + source_table(
            "Proxied",
            feed_server.url("/ok2"),
            'proxy = "http://pxuser:proxy-pw-4242@127.0.0.1:9"\n'
            + 'token_env = "FEEDS_TEST_TOKEN"',
        ),
    )
    env = {"FEEDS_TEST_TOKEN": TOKEN}
    outputs = [run_feeds("--config", str(config), "-vv", "update", cwd=tmp_path, env=env)]
    outputs.append(run_feeds("--config", str(config), "-vv", "status", cwd=tmp_path, env=env))
    outputs.append(run_feeds("--config", str(config), "status", "--json", cwd=tmp_path, env=env))
    outputs.append(
        run_feeds(
            "--config", str(config), "--log-format", "json", "-vv", "update", cwd=tmp_path, env=env
        )
    )
    text = "\n".join(done.stdout + done.stderr for done in outputs)
    rows = {row["name"]: row for row in json.loads(outputs[2].stdout)}
    assert rows["Ok"]["outcome"] == "new"
    assert "HTTP 401" in (rows["Denied"]["last_error"] or "")
    assert "http://***@127.0.0.1:9" in (rows["Proxied"]["last_error"] or "")
    encoded = BASIC.removeprefix("Basic ")
    for secret in (PASSWORD, TOKEN, encoded, "key-abc-123", "sess-98765", "proxy-pw-4242",
                   "pxuser"):  # fmt: skip
        assert secret not in text, secret


def test_each_header_goes_once_the_sources_own_winning_in_any_case(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The fetch builds its requests itself (`FetchClient.open_get`): a source's header
    replaces the client's of the same name whatever its case, Host names the origin, and
    credentials in the URL go as basic auth, as httpx's client sends them."""
    pair = base64.b64encode(b"reader:p@ss word").decode()
    url = feed_server.add("/f", FEED, demands={"authorization": f"Basic {pair}"})
    with_credentials = url.replace("http://", "http://reader:p%40ss%20word@")
    options = 'headers = { ACCEPT = "application/rss+xml", "X-Trace" = "t-1" }'
    config = demanding_config(tmp_path, with_credentials, options)
    assert fetch(config.fetch, with_credentials, config.sources[0]).status == 200

    (sent,) = feed_server.requests_to("/f")
    names = [name.lower() for name, _ in sent.lines]
    assert len(names) == len(set(names)), sent.lines  # no header twice
    written = [name for name, _ in sent.lines]
    assert written[0] == "Host"
    assert {"User-Agent", "Accept-Encoding", "ACCEPT", "X-Trace"} <= set(written)  # as written
    assert sent.headers["host"] == url.split("/")[2]  # host:port, no credentials
    assert sent.headers["accept"] == "application/rss+xml"
    assert sent.headers["x-trace"] == "t-1"
    assert sent.headers["user-agent"] == config.fetch.user_agent
    assert sent.headers["accept-encoding"]  # the client's own, still sent


def test_user_agent_is_per_source(tmp_path: Path, feed_server: FeedServer) -> None:
    own = feed_server.add("/own", FEED)
    default = feed_server.add("/default", FEED)
    path = write_config(
        tmp_path,
        '[fetch]\nuser_agent = "fleet/1"\n'
        + source_table("Own", own, f'user_agent = "{UA}"')
        + source_table("Default", default),
    )
    assert all(r.errors == () for r in update(load_config(path)).results)
    assert feed_server.requests_to("/own")[0].headers["user-agent"] == UA
    assert feed_server.requests_to("/default")[0].headers["user-agent"] == "fleet/1"


def test_editing_the_config_keeps_options_and_writes_no_secret(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`feeds sources add` and `remove` leave a source's options as written: variable and
    file names, never the secrets they hold."""
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    options = 'username = "editor"\npassword_file = "pw"\n'
    path = write_config(tmp_path, source_table("S", feed_server.url("/s"), options))
    added = run_feeds(
        "--config", str(path), "sources", "add", feed_server.url("/new"), "--no-check",
        "--category", "C", "--name", "New", cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    text = path.read_text(encoding="utf-8")
    assert 'username = "editor"\npassword_file = "pw"' in text
    assert PASSWORD not in text
    assert [s.name for s in load_config(path).sources] == ["S", "New"]
