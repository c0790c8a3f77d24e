"""The news feed of lessons 07a and 07b, its four clients, the byte meter and the measurements, over real sockets and in Chromium."""

from __future__ import annotations

import asyncio
import html
import http.server
import json
import re
import signal
import subprocess
import sys
import threading
import time

import aiohttp
import pytest
from playwright.sync_api import expect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as sync_connect

from conftest import stopped
from ws_course import news_feed, start
from ws_course.measure.feed_clients import WAYS
from ws_course.measure.meter import Meter
from ws_course.measure.polling import (
    Run,
    conclusions,
    measure,
    measure_in_a_process,
    one_poll,
    plot,
    table,
    times_as_much,
    went,
)
from ws_course.news_feed import Feed


@pytest.fixture
def fast_feed():
    feed = Feed(period=0.05)
    with start("news_feed", feed=feed) as server:
        yield server, feed


async def until(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def get(url: str, **kwargs):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(url, **kwargs) as response:
            return response.status, await response.text()


async def test_the_four_clients_get_the_same_items_each_once_in_order(fast_feed):
    server, feed = fast_feed
    received = {way: [] for way in WAYS}
    tasks = [asyncio.create_task(follow(server.page_url, received[way].append)) for way, follow in WAYS.items()]
    try:
        await until(lambda: all(len(items) >= 10 for items in received.values()))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for way, items in received.items():
        ids = [item["id"] for item in items]
        assert ids == list(range(ids[0], ids[0] + len(ids))), (way, ids)
        for item in items:  # the same JSON, whichever way it travelled
            assert json.dumps(item, separators=(",", ":")) == feed.items[item["id"] - 1]
            assert item["text"] == f"news item {item['id']}"


async def test_a_newcomer_gets_the_latest_item_first(fast_feed):
    server, feed = fast_feed
    await until(lambda: len(feed.items) >= 3)
    status, body = await get(server.page_url + "poll")
    latest = json.loads(body)
    assert status == 200 and len(latest) == 1 and latest[0]["id"] >= 3
    status, body = await get(server.page_url + "poll", params={"after": 1})
    assert [item["id"] for item in json.loads(body)][:2] == [2, 3]


async def test_a_long_poll_is_held_until_the_next_item():
    feed = Feed(period=0.3)
    with start("news_feed", feed=feed) as server:
        await until(lambda: len(feed.items) >= 1)
        asked_with = len(feed.items)
        status, body = await get(server.page_url + "long-poll", params={"after": asked_with})
        [item] = json.loads(body)
        assert status == 200 and item["id"] == asked_with + 1  # an item that did not exist when asked
        assert feed.requests["long-poll"] == 1


async def test_a_long_poll_with_no_news_gets_an_empty_answer_after_the_hold(monkeypatch):
    monkeypatch.setattr(news_feed, "HOLD", 0.2)
    with start("news_feed", period=60) as server:
        started = time.monotonic()
        status, body = await get(server.page_url + "long-poll", params={"after": 0})
        assert (status, body) == (200, "[]")
        assert 0.2 <= time.monotonic() - started < 5


async def test_server_sent_events_resume_after_the_last_event_id(fast_feed):
    server, feed = fast_feed
    await until(lambda: len(feed.items) >= 5)
    async with aiohttp.ClientSession() as session:
        async with session.get(server.page_url + "events", headers={"Last-Event-ID": "2"}) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            lines = [await response.content.readline() for _ in range(3)]
    assert lines[0] == b"id: 3\n" and lines[1].startswith(b'data: {"id":3,') and lines[2] == b"\n"


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "²", "9" * 20, ""])
async def test_a_bad_after_gets_a_clear_400_and_others_are_still_served(fast_feed, bad):
    server, feed = fast_feed
    for path in ("poll", "long-poll"):
        status, body = await get(server.page_url + path, params={"after": bad})
        assert status == 400 and "after= must be an item's number" in body
    status, body = await get(server.page_url + "events", headers={"Last-Event-ID": bad})
    assert status == 400
    await until(lambda: len(feed.items) >= 2)
    status, body = await get(server.page_url + "poll", params={"after": 0})
    assert status == 200 and json.loads(body)[0]["id"] == 1


async def test_clients_that_vanish_mid_stream_leave_no_error_in_the_log(fast_feed):
    server, feed = fast_feed
    for _ in range(3):
        async with aiohttp.ClientSession() as session:
            async with session.get(server.page_url + "events") as response:
                await response.content.readline()
        websocket = await connect(server.ws_url, proxy=None)
        await websocket.recv()
        websocket.transport.abort()
    published = len(feed.items)
    await until(lambda: len(feed.items) >= published + 3)  # a few more items, written to connections that are gone
    status, _ = await get(server.page_url + "poll")
    assert status == 200
    await stopped(server)  # every request's handler has ended: any error is in the log by now
    assert server.log == ["publishing an item every 0.05 s"], server.log


async def test_stopping_ends_websockets_with_1001_and_held_requests_at_once():
    feed = Feed(period=60)
    server = start("news_feed", feed=feed)
    websocket = await connect(server.ws_url, proxy=None)
    async with aiohttp.ClientSession() as session:
        long_poll = asyncio.create_task(session.get(server.page_url + "long-poll", params={"after": 5}))
        events = await session.get(server.page_url + "events")
        await until(lambda: feed.requests["long-poll"] == 1)
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        assert time.monotonic() - started < 3
        response = await long_poll
        assert await response.text() == "[]"
        assert await events.content.read() == b""  # the stream ended
    with pytest.raises(ConnectionClosed):
        await websocket.recv()
    assert websocket.close_code == 1001


async def test_the_meter_counts_every_byte_both_ways(fast_feed):
    server, _ = fast_feed
    request = b"GET /poll?after=1000000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    async with Meter("127.0.0.1", server.port) as meter:
        reader, writer = await asyncio.open_connection("127.0.0.1", meter.port)
        writer.write(request)
        response = await reader.read()  # to the end: the server closes
        writer.close()
        await until(lambda: meter.down == len(response))
    assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"\r\n\r\n[]")
    assert (meter.up, meter.down, meter.connections) == (len(request), len(response), 1)
    assert bytes(meter.sample_up) == request and bytes(meter.sample_down) == response


async def test_every_way_measured_delivers_everything_and_websocket_costs_least(fast_feed):
    server, feed = fast_feed
    runs = [await measure(server.page_url, feed, way, clients=3, items=3, interval=0.02) for way in WAYS]
    polling, long_polling, events, websocket = runs
    for run in runs:
        assert run.complete and run.deliveries >= 9 and len(run.latencies) == run.deliveries, run
    assert polling.requests > 0 and long_polling.requests <= long_polling.deliveries + 3
    assert websocket.requests == events.requests == websocket.up == events.up == 0
    assert websocket.down_per_item < events.down_per_item < long_polling.down_per_item
    assert websocket.down_per_item + websocket.up_per_item < polling.up_per_item + polling.down_per_item
    everything = runs + [await measure(server.page_url, feed, way, clients=1, items=2, interval=0.02) for way in WAYS]
    assert plot(everything).data.startswith(b"\x89PNG")
    assert table(everything).data.count("<tr>") == 1 + len(everything)
    assert "times less" in conclusions(everything).data


async def test_a_client_that_fails_is_reported_not_waited_for(fast_feed):
    server, feed = fast_feed
    with pytest.raises(RuntimeError, match="a short polling client failed"):
        await measure("http://127.0.0.1:1/", feed, "short polling", clients=1, timeout=1)


# -- the sentences, chosen from the numbers: tables of both shapes, made by hand --------------


def made(way, clients, *, interval=None, requests=0, up=0, down=0, median=1.0, worst=None, seconds=1.0):
    """A run with ``clients`` × 4 deliveries, costing ``up`` and ``down`` bytes per delivery, latencies in ms."""
    deliveries = 4 * clients
    latencies = [median / 1000] * (deliveries - 1) + [(worst or median) / 1000]
    return Run(way, clients, interval, seconds, requests=requests * deliveries, up=up * deliveries,
               down=down * deliveries, connect_up=0, connect_down=0, deliveries=deliveries, latencies=latencies)


def table_of(shape):
    """Every way at 1, 10 and 100 clients: ``shape(way, clients)`` gives each run's keyword arguments."""
    ways = [("short polling", 0.1), ("short polling", 0.5), ("long-polling", None), ("Server-Sent Events", None),
            ("WebSocket", None)]
    return [made(way, clients, interval=interval, **shape(way if interval is None else f"poll {interval}", clients))
            for clients in (1, 10, 100) for way, interval in ways]


def words(markup):
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_conclusions_say_what_the_usual_numbers_show():
    def usual(way, clients):
        return {
            "poll 0.1": dict(requests=2, up=150, down=170, median=50 * (1 + clients / 100), worst=99),
            "poll 0.5": dict(requests=0.4, up=30, down=34, median=250, worst=480),
            "long-polling": dict(requests=1, up=150, down=210),
            "Server-Sent Events": dict(down=74),
            "WebSocket": dict(down=55, median=0.8 if clients == 1 else 5.9),
        }[way]

    said = words(conclusions(table_of(usual)).data)
    assert "each item cost each client: short polling, every 100 ms, 320 bytes" in said
    assert "2.0 requests, 50% of them answered []" in said
    assert "a WebSocket cost 55, 5.8 times less." in said
    assert "sent nothing at all: the server talked, and nobody asked again." in said
    assert "64 bytes per item instead of 320 (5.0 times less)" in said
    assert "median latency of 250.0 ms instead of 55.0 ms (later)" in said
    assert "an item waits for the next poll, longer when it just missed one" in said
    assert "short polling's median latency went up from 50.5 ms to 100.0 ms" in said
    assert "the WebSocket's went up from 0.8 ms to 5.9 ms" in said


def test_conclusions_say_what_numbers_of_the_other_shape_show():
    def other(way, clients):  # every comparison the other way round
        return {
            "poll 0.1": dict(requests=0.9, up=20, down=20, median=90 / clients ** 0.5, worst=95),
            "poll 0.5": dict(requests=0.9, up=40, down=40, median=0.5, worst=0.6),
            "long-polling": dict(requests=1, up=150, down=210, median=3),
            "Server-Sent Events": dict(up=10, down=74, median=2),
            "WebSocket": dict(up=5, down=395, median=5.9 if clients == 1 else 0.8),
        }[way]

    said = words(conclusions(table_of(other)).data)
    assert "0.9 requests, 0% of them answered []" in said
    assert "a WebSocket cost 400, 10 times more." in said
    assert "sent 600 bytes." in said and "nobody asked again" not in said
    assert "80 bytes per item instead of 40 (2.0 times more)" in said
    assert "(sooner)" in said and "(later)" not in said
    assert "on this run, polling's news came no later than the others'" in said
    assert "short polling's median latency went down from 90.0 ms to 9.0 ms" in said
    assert "the WebSocket's went down from 5.9 ms to 0.8 ms" in said


def test_a_value_that_prints_the_same_stayed_and_ratios_near_one_are_about_as_much():
    assert went("1.0 ms", "1.0 ms") == "stayed at 1.0 ms"
    assert went("1,200.0 ms", "980.5 ms") == "went down from 1,200.0 ms to 980.5 ms"
    assert times_as_much(100, 105) == "about as much"
    assert times_as_much(10, 25) == "2.5 times less" and times_as_much(250, 10) == "25 times more"


def test_one_poll_says_how_much_of_it_was_the_answer():
    assert one_poll(144, 160, b"[]") == (
        "up 144 B, down 160 B: 304 B, both ways, to learn []; the answer itself is 2 B, less than 1% of the "
        "traffic: the rest is the request's and the response's headers.")
    assert "the answer itself is 50 B, 25% of the traffic" in one_poll(100, 100, b"x" * 50)


async def test_measuring_in_a_process_returns_the_runs_and_plots_there():
    runs = await measure_in_a_process(clients=[2], intervals=[0.05], ways=["short polling", "WebSocket"],
                                      period=0.05, items=3)
    assert [(run.label, run.clients) for run in runs] == [("short polling, every 50 ms", 2), ("WebSocket", 2)]
    for run in runs:
        assert run.complete and run.deliveries >= 6 and len(run.latencies) == run.deliveries
    assert runs[1].requests == runs[1].up == 0 and runs[0].requests > 0
    assert plot(runs * 2).data.startswith(b"\x89PNG")


async def test_the_feed_at_random_publishes_one_item_a_period_on_average_at_uneven_moments():
    feed = Feed(period=0.05, at_random=True)
    with start("news_feed", feed=feed):
        await until(lambda: len(feed.items) >= 12)
    moments = [json.loads(item)["at"] for item in feed.items[:12]]
    gaps = {round((later - earlier) / 1000) for earlier, later in zip(moments, moments[1:])}  # milliseconds
    assert len(gaps) > 3, gaps  # on the clock, every gap would be 50 ms


# -- in a browser, and from the command line ------------------------------------------------


def test_the_page_follows_the_feed_four_ways_in_chromium_and_says_in_words_when_the_server_is_gone(page):
    with start("news_feed", period=0.1) as server:
        page.goto(server.page_url + "?interval=100")
        expect(page.locator("#short-poll .interval")).to_have_text("100 ms")
        for way in ("short-poll", "long-poll", "events", "websocket"):
            expect(page.locator(f"#{way} .items")).not_to_have_text("0")
            expect(page.locator(f"#{way} .latest")).to_have_text(re.compile(r"news item \d+"))
            expect(page.locator(f"#{way} .took")).to_have_text(re.compile(r"\d+ ms"))
        for way in ("events", "websocket"):  # one request, then only news
            expect(page.locator(f"#{way} .requests")).to_have_text("1")
        expect(page.locator("#short-poll .requests")).not_to_have_text(re.compile(r"^[0-5]$"))
        server.stop()
        restart = "run the cell that starts the feed (lesson 07a), then reload this page"
        expect(page.locator("#websocket .state")).to_have_text(
            f"closed: the server is gone (close code 1001); {restart}")
        for way in ("short-poll", "long-poll"):
            expect(page.locator(f"#{way} .state")).to_have_text(re.compile(
                r"^stopped: the server is gone \(.+\): " + re.escape(restart) + "$"))
        # Nothing listens: EventSource tries again and again, and says so.
        expect(page.locator("#events .state")).to_have_text(
            f"reconnecting (EventSource does it by itself); if the server is gone, {restart}")


class Answers500(http.server.BaseHTTPRequestHandler):
    """What a stopped feed looks like through the Jupyter server's proxy: 500 and an HTML page."""

    def do_GET(self):
        body = b"<html><body>500 : Internal Server Error</body></html>"
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_page_says_the_browser_gave_up_when_the_events_get_a_500(page):
    with start("news_feed", period=0.1) as server:
        page.goto(server.page_url)
        expect(page.locator("#events .state")).to_have_text("open")
        port = server.port
        server.stop()
        expect(page.locator("#events .state")).to_contain_text("reconnecting")
        # The port answers again, as the Jupyter server does for a feed that is gone: 500.
        proxy_like = http.server.ThreadingHTTPServer(("127.0.0.1", port), Answers500)
        threading.Thread(target=proxy_like.serve_forever, daemon=True).start()
        try:  # EventSource waits a few seconds before it tries again
            expect(page.locator("#events .state")).to_have_text(
                "the browser gave up: the server is gone; run the cell that starts the feed (lesson 07a), "
                "then reload this page", timeout=15_000)
            assert page.evaluate("source.readyState") == 2  # EventSource.CLOSED
        finally:
            proxy_like.shutdown()
            proxy_like.server_close()


def test_ws_course_serve_news_feed_until_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "news-feed", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = re.search(r"http://\S+/", process.stdout.readline())[0]
        with sync_connect("ws" + url.removeprefix("http"), proxy=None) as websocket:
            items = [json.loads(websocket.recv(timeout=5)) for _ in range(2)]
        assert items[1]["id"] == items[0]["id"] + 1
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0
        assert "publishing an item every 1 s" in err and "Traceback" not in err
    finally:
        process.kill()
        process.wait()
