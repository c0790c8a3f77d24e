"""Lesson 07's news feed, its four clients, the byte meter and the measurements, over real sockets and in Chromium."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
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
from ws_course.measure.polling import conclusions, measure, plot, table
from ws_course.measure.meter import Meter
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
    request = "GET /poll?after=1000000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
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


# -- in a browser, and from the command line ------------------------------------------------


def test_the_page_follows_the_feed_four_ways_in_chromium(page):
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
        expect(page.locator("#websocket .state")).to_have_text("closed (code 1001)")
        expect(page.locator("#short-poll .state")).to_have_text("stopped: the server is gone")
        expect(page.locator("#long-poll .state")).to_have_text("stopped: the server is gone")


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
