"""One room across processes through a real Redis (lesson 09): the three chat rooms, and their faults.

Every test starts a private ``redis-server`` (:mod:`ws_course.runtime.redis_server`) and the
servers as separate processes, ``python -m ws_course serve DEMO --redis URL``
(:mod:`ws_course.runtime.processes`): what a deployment runs, no fakes. The faults are the
real thing too: Redis stopped (SIGTERM) and started again on its port, a server
process killed (SIGKILL), a process's subscription cut by Redis (``CLIENT KILL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import redis as redis_client
from room_members import Member
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

import ws_course
from ws_course.runtime import processes
from ws_course.scaleout import redis_room
from ws_course.runtime.redis_server import RedisNotInstalled, RedisServer, start_redis

#: Real Redis and server processes, faults that take seconds to be noticed: not in the quick loop.
pytestmark = pytest.mark.slow

ROOMS = ["chat", "json_chat", "event_chat"]


@pytest.fixture
def redis():
    server = start_redis(name="test-redis")
    yield server
    server.stop()


@pytest.fixture
def two_servers(redis, request):
    """Two server processes of the room ``request.param``, on one Redis."""
    demo = request.param
    first = processes.start_process(demo, name="first", redis=redis.url)
    second = processes.start_process(demo, name="second", redis=redis.url)
    yield demo, first, second
    for server in (first, second):
        server.stop()  # returns once the process has ended and its log is read to the end
    no_tracebacks(first, second)  # what the tests' own checks, made while they ran, could not see yet


async def server_id(server) -> str:
    line = await server.wait_for_log("joined the room")  # logged lines reach the file up to 0.1 s late
    return line.rsplit("as server ", 1)[1].rstrip(")")


def no_tracebacks(*servers) -> None:
    for server in servers:
        assert not any("Traceback" in line for line in server.log), server.log[:]


# -- the helper that starts Redis ---------------------------------------------------------------


def test_a_private_redis_starts_on_a_free_port_stops_by_pid_and_comes_back_on_the_same_port():
    server = start_redis(name="test-helper")
    try:
        client = redis_client.Redis.from_url(server.url)
        assert client.ping()
        client.set("kept?", "no")
        pid, port, folder = server.pid, server.port, server.folder
        assert folder.is_dir() and server.url == f"redis://:{server.password}@127.0.0.1:{port}/0"
        assert server.shown_url == f"redis://:***@127.0.0.1:{port}/0" and server.password not in repr(server)
        assert server.password not in " ".join(_command_line(pid))
        with pytest.raises(redis_client.AuthenticationError):
            redis_client.Redis.from_url(server.url.replace(server.password, "wrong")).ping()
        server.stop()
        assert not server.running and not folder.exists()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the process is gone, not only its port
        server.start()
        assert server.port == port and server.pid != pid
        assert client.get("kept?") is None  # nothing kept on disk: a restart forgets, as a crash would
        client.close()
    finally:
        server.stop()


def test_a_second_start_under_the_same_name_replaces_the_first():
    first = start_redis(name="test-replace")
    second = start_redis(name="test-replace")
    try:
        assert not first.running and second.running
    finally:
        second.stop()


def test_without_redis_server_it_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no redis-server on it
    with pytest.raises(RedisNotInstalled) as raised:
        RedisServer()
    assert "apt-get install redis-server" in str(raised.value)
    assert "conda install -c conda-forge redis" in str(raised.value)


# -- one room, two processes ----------------------------------------------------------------------


@pytest.mark.parametrize("two_servers", ROOMS, indirect=True)
async def test_members_of_two_processes_share_one_room_in_per_sender_order(two_servers):
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    bob = await Member.join(demo, second.port)
    carol = await Member.join(demo, first.port)
    # Nicknames from the counter in Redis: unique across processes, in order of arrival.
    assert [alice.nickname, bob.nickname, carol.nickname] == ["user1", "user2", "user3"]
    await alice.wait_for("user3 comes in")
    await bob.wait_for("user3 comes in")  # an arrival on the first process, heard on the second

    # Two talkers on two processes at once: each one's messages arrive in the order sent, everywhere.
    count = 100
    await asyncio.gather(*(alice.say(f"a{n}") for n in range(count)), *(bob.say(f"b{n}") for n in range(count)))
    for listener in (alice, bob, carol):
        await listener.wait_for(alice.said("user1", f"a{count - 1}"))
        await listener.wait_for(bob.said("user2", f"b{count - 1}"))
        for talker, prefix in ((alice, "a"), (bob, "b")):
            theirs = [text for text in listener.heard if text.removeprefix(f"{talker.nickname} says: ").startswith(prefix)]
            assert theirs == [listener.said(talker.nickname, f"{prefix}{n}") for n in range(count)]

    await bob.leave()
    await alice.wait_for("user2 left")
    await carol.wait_for("user2 left")
    for member in (alice, carol):
        await member.leave()
    no_tracebacks(first, second)


@pytest.mark.parametrize("two_servers", ["chat", "event_chat"], indirect=True)
async def test_when_redis_stops_each_process_serves_its_own_members_and_rejoins_when_it_is_back(redis, two_servers):
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    carol = await Member.join(demo, first.port)
    bob = await Member.join(demo, second.port)

    redis.stop()
    for server in (first, second):
        await server.wait_for_log("is split")
    # Split: the members of each process hear each other, and only each other.
    for n in range(20):
        await alice.say(f"split {n}")
    await carol.wait_for(carol.said("user1", "split 19"))
    await bob.say("alone")
    await bob.wait_for(bob.said("user3", "alone"))
    await asyncio.sleep(2 * redis_room.RETRY)  # a few attempts to reach Redis, each silent
    assert bob.said("user1", "split 0") not in bob.heard
    assert alice.said("user3", "alone") not in alice.heard

    redis.start()  # empty: it forgot the room, the counter, who is where
    for server in (first, second):
        await server.wait_for_log("rejoined the room")
    await alice.say("whole again")
    await bob.wait_for(bob.said("user1", "whole again"))
    dave = await Member.join(demo, second.port)
    assert dave.nickname == "user4"  # the counter was raised to the highest number the processes gave out
    await alice.wait_for("user4 comes in")

    for server in (first, second):
        # One line for the split, one for the rejoin: no line for each message, no traceback.
        assert sum("is split" in line for line in server.log) == 1, server.log[:]
        assert sum("rejoined" in line for line in server.log) == 1, server.log[:]
        about_redis = [line for line in server.log if "redis" in line.lower()]
        assert len(about_redis) <= 4, about_redis  # joined, split, rejoined (and the manager's start)

    # Again: the second split and rejoin are logged too, though in the same words as the first.
    before = {server: server.log.total for server in (first, second)}
    redis.stop()
    for server in (first, second):
        await server.wait_for_log("is split", after=before[server])
    redis.start()
    for server in (first, second):
        await server.wait_for_log("rejoined the room", after=before[server])
    await alice.say("whole once more")
    await dave.wait_for(dave.said("user1", "whole once more"))
    no_tracebacks(first, second)
    for member in (alice, carol, bob, dave):
        await member.leave()


@pytest.mark.parametrize("two_servers", ["chat", "event_chat"], indirect=True)
async def test_the_members_of_a_killed_process_leave_the_room_for_the_other_process(two_servers):
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    _bob = await Member.join(demo, second.port)  # both stay in the room until their process dies
    _carol = await Member.join(demo, second.port)
    await alice.wait_for("user3 comes in")

    second.kill()  # SIGKILL: no goodbye, to anyone
    await alice.wait_for("user2 left", timeout=3 * redis_room.ALIVE_FOR + 5)
    await alice.wait_for("user3 left", timeout=5)
    await first.wait_for_log("stopped answering: its 2 members left")
    assert alice.heard.count("user2 left") == 1  # once, though any process may notice
    await alice.leave()
    no_tracebacks(first)


@pytest.mark.parametrize("two_servers", ["chat"], indirect=True)
async def test_a_message_published_while_a_process_reconnects_is_lost(redis, two_servers):
    """Pub/sub is at most once: Redis keeps nothing for a subscriber that is away."""
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    bob = await Member.join(demo, second.port)
    await alice.say("before")
    await bob.wait_for("before")

    client = redis_client.Redis.from_url(redis.url, decode_responses=True)
    name = f"ws-course:chat:{await server_id(second)}"
    [subscription] = [c for c in client.client_list(_type="pubsub") if c["name"] == name]
    client.client_kill_filter(_id=subscription["id"])  # Redis drops the second process's subscription
    await second.wait_for_log("is split")
    await alice.say("while you were away")  # published while the second process reconnects
    await second.wait_for_log("rejoined the room")
    await alice.say("after")
    await bob.wait_for("after")
    assert "while you were away" not in bob.heard  # lost, and nothing sends it again
    assert "while you were away" in alice.heard
    client.close()
    for member in (alice, bob):
        await member.leave()


# -- bad input, and the classroom's protections ------------------------------------------------------


def test_an_unreachable_redis_is_a_clear_error_at_start(redis):
    url = redis.url.replace(str(redis.port), "1")  # nothing listens on port 1
    result = subprocess.run(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0", "--redis", url],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert f"cannot reach Redis at {redis_room.redacted(url)}" in result.stderr and "Traceback" not in result.stderr
    assert redis.password not in result.stderr
    with pytest.raises(redis_room.RedisUnreachable, match="Is it running"):
        ws_course.start("event_chat", redis=url)
    with pytest.raises(ValueError, match="echo cannot share its room through Redis: only the chat rooms can"):
        ws_course.start("echo", redis=redis.url)
    result = subprocess.run(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0", "--redis", "localhost:6379"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2 and "ws-course:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("demo", ROOMS)
async def test_a_shared_room_keeps_the_classroom_protections(redis, demo):
    with ws_course.start(demo, name="guarded", redis=redis.url, max_clients=1) as server:
        member = await Member.join(demo, server.port)
        if demo == "event_chat":
            import aiohttp

            async with aiohttp.ClientSession() as session:
                url = f"{server.page_url}socket.io/?EIO=4&transport=polling"
                async with session.get(url, headers={"Origin": "http://evil.example"}) as response:
                    assert response.status == 403
                async with session.get(url) as response:
                    assert response.status == 503  # the room is full
        else:
            with pytest.raises(InvalidStatus, match="403"):
                await connect(server.ws_url, proxy=None, origin="http://evil.example")
            with pytest.raises(InvalidStatus, match="503"):
                await connect(server.ws_url, proxy=None)
        await member.leave()


ORPHANS = """
import time
from ws_course.runtime.processes import start_process
from ws_course.runtime.redis_server import start_redis
redis = start_redis()
server = start_process("chat", redis=redis.url)
print(server.pid, redis.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_server_processes_and_redis_end_with_the_python_that_started_them(how):
    """A kernel that is shut down, or killed (SIGKILL, when it does not shut down in time), leaves no orphan."""
    script = ORPHANS.replace("time.sleep(60)", "") if how == "exits" else ORPHANS
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    if how == "is killed":
        parent.kill()
    parent.wait(30)
    parent.stdout.close()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in pids if _alive(pid)]
    assert not alive, f"still running after their parent {how.split()[-1]}: {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie (dead, not yet reaped by init) counts as gone
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


# -- a room that heals: garbage on the channel, a listener that dies, stalls, an empty restart, passwords --------

#: What anyone who can reach Redis might publish on a room's channels: bytes that are not UTF-8,
#: text in no format of the room's, JSON that python-socketio does not expect.
GARBAGE = [b"\xff\xfe\x00 not UTF-8", b"no sender in front", b"hello"]
SOCKETIO_GARBAGE = [b"\xff\xfe\x00 not UTF-8", b"not JSON", b'["method"]', b'"method"', b'{"method": "emit"}']


def pubsub_connections(client, channel: str) -> int:
    [(_, count)] = client.pubsub_numsub(channel)
    return count


@pytest.mark.parametrize("two_servers", ROOMS, indirect=True)
async def test_garbage_on_the_channels_is_logged_once_and_skipped(redis, two_servers):
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    bob = await Member.join(demo, second.port)
    await alice.wait_for("user2 comes in")
    client = redis_client.Redis.from_url(redis.url)
    channels = {f"ws-course:{demo}": GARBAGE}
    if demo == "event_chat":
        channels[f"ws-course:{demo}:socketio"] = SOCKETIO_GARBAGE
    subscribers = {channel: pubsub_connections(client, channel) for channel in channels}
    for channel, garbage in channels.items():
        for data in garbage:
            client.publish(channel, data)
    # Still one room, both ways.
    await alice.say("still one room?")
    await bob.wait_for(bob.said("user1", "still one room?"))
    await bob.say("yes")
    await alice.wait_for(alice.said("user2", "yes"))
    for server in (first, second):
        await server.wait_for_log("skipped")
        assert sum("skipped" in line for line in server.log) == 1, server.log[:]  # once, however many
    assert {channel: pubsub_connections(client, channel) for channel in channels} == subscribers  # no leak
    assert not any(text in ("", "hello") or "method" in text for text in alice.heard + bob.heard)
    no_tracebacks(first, second)
    client.close()
    for member in (alice, bob):
        await member.leave()


async def test_a_listener_that_fails_says_so_and_listens_again(redis, caplog):
    """Whatever kills the listener (here: the room's own code, raising once), it is logged and it starts again."""
    heard: list[str] = []

    def on_message(text: str) -> None:
        if text == "boom":
            raise RuntimeError("a bug in the room")
        heard.append(text)

    logger = logging.getLogger("ws_course.test-listener")
    listener = redis_room.SharedRoom(redis.url, "listener", logger=logger, on_left=print, on_message=on_message)
    talker = redis_room.SharedRoom(redis.url, "listener", logger=logger, on_left=print, on_message=lambda text: None)
    await listener.start()
    await talker.start()
    try:
        talker.publish("before")
        talker.publish("boom")
        async with asyncio.timeout(10):
            while "failed" not in caplog.text:
                await asyncio.sleep(0.01)
            while not listener.joined:
                await asyncio.sleep(0.01)
        talker.publish("after")
        async with asyncio.timeout(10):
            while "after" not in heard:
                await asyncio.sleep(0.01)
        assert heard == ["before", "after"]
        assert "RuntimeError: a bug in the room" in caplog.text  # the traceback: a bug is worth one
    finally:
        await talker.close()
        await listener.close()


@pytest.mark.parametrize("two_servers", ["chat", "event_chat"], indirect=True)
async def test_a_process_that_stalls_is_announced_gone_then_back_and_rejoins_the_room(redis, two_servers):
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    bob = await Member.join(demo, second.port)
    carol = await Member.join(demo, second.port)
    await alice.wait_for("user3 comes in")
    second_id = await server_id(second)

    before = first.log.total
    os.kill(second.pid, signal.SIGSTOP)  # frozen: no heartbeat, yet its members stay connected
    try:
        await first.wait_for_log("stopped answering: its 2 members left", after=before, timeout=3 * redis_room.ALIVE_FOR + 5)
    finally:
        os.kill(second.pid, signal.SIGCONT)
    await second.wait_for_log("rejoined the room")
    for member in (alice, bob, carol):  # everyone: gone, then back (the room was told, so it is told the truth)
        for nickname in ("user2", "user3"):
            await member.wait_for(f"{nickname} left")
            left = member.heard.index(f"{nickname} left")
            await member.wait_for(f"{nickname} is back", start=left + 1)
    client = redis_client.Redis.from_url(redis.url, decode_responses=True)
    assert second_id in client.smembers(f"ws-course:{demo}:servers")
    assert client.smembers(f"ws-course:{demo}:members:{second_id}") == {"user2", "user3"}
    await bob.say("am I back?")
    await alice.wait_for(alice.said("user2", "am I back?"))
    await alice.say("you are")
    await carol.wait_for(carol.said("user1", "you are"))

    # It is in the room again: when it dies, its members are announced gone.
    before = first.log.total
    second.kill()
    await first.wait_for_log("stopped answering: its 2 members left", after=before, timeout=3 * redis_room.ALIVE_FOR + 5)
    for nickname in ("user2", "user3"):
        await alice.wait_for(lambda text, nickname=nickname: alice.heard.count(f"{nickname} left") == 2, timeout=5)
        assert alice.heard.count(f"{nickname} is back") == 1
    no_tracebacks(first)
    client.close()
    await alice.leave()
    for member in (bob, carol):  # their process is gone: their connections ended without a goodbye
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await member.leave()


@pytest.mark.parametrize("two_servers", ["chat"], indirect=True)
async def test_a_process_missing_from_the_room_enters_it_again_by_itself(redis, two_servers):
    """Whatever took it out (a death notice it never heard, a hand in Redis), its heartbeat notices, and it enters again."""
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    bob = await Member.join(demo, second.port)
    await alice.wait_for("user2 comes in")
    second_id = await server_id(second)
    client = redis_client.Redis.from_url(redis.url, decode_responses=True)
    before = second.log.total
    client.srem(f"ws-course:{demo}:servers", second_id)
    await second.wait_for_log("rejoined the room", after=before)
    assert second_id in client.smembers(f"ws-course:{demo}:servers")
    assert client.smembers(f"ws-course:{demo}:members:{second_id}") == {"user2"}
    before = first.log.total
    second.kill()
    await first.wait_for_log("stopped answering: its 1 members left", after=before, timeout=3 * redis_room.ALIVE_FOR + 5)
    await alice.wait_for("user2 left")
    assert "user2 is back" not in alice.heard  # nobody had said it left
    client.close()
    await alice.leave()
    with contextlib.suppress(Exception):
        await bob.leave()


@pytest.mark.parametrize("two_servers", ["chat", "event_chat"], indirect=True)
async def test_nicknames_stay_unique_when_redis_restarts_empty_while_a_process_is_stalled(redis, two_servers):
    demo, first, second = two_servers
    alice = await Member.join(demo, first.port)
    others = [await Member.join(demo, second.port) for _ in range(3)]  # user2, user3, user4
    await alice.wait_for("user4 comes in")

    os.kill(second.pid, signal.SIGSTOP)
    try:
        before = first.log.total
        redis.stop()
        await first.wait_for_log("is split", after=before)
        redis.start()  # empty
        await first.wait_for_log("rejoined the room", after=before)
        eve = await Member.join(demo, first.port)
    finally:
        os.kill(second.pid, signal.SIGCONT)
    taken = {alice.nickname, *(member.nickname for member in others)}
    assert eve.nickname not in taken, f"{eve.nickname} was given twice"
    await second.wait_for_log("rejoined the room")
    frank = await Member.join(demo, second.port)
    assert frank.nickname not in taken | {eve.nickname}
    await eve.say("hello, second process")
    await others[0].wait_for(others[0].said(eve.nickname, "hello, second process"))
    await alice.wait_for(f"{frank.nickname} comes in")
    no_tracebacks(first, second)
    for member in (alice, *others, eve, frank):
        await member.leave()


def _command_line(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().decode().split("\0")


def serve_once(url: str) -> subprocess.CompletedProcess:
    """``ws-course serve chat --redis URL``, for a URL it refuses at once."""
    return subprocess.run(
        [sys.executable, "-m", "ws_course", "serve", "chat", "--port", "0", "--redis", url],
        capture_output=True, text=True, timeout=30, check=False,
    )


async def test_a_redis_with_a_password_the_password_never_shown_and_a_wrong_one_a_clear_error():
    password = "s3cret-Pw"
    redis = start_redis(name="test-password", password=password)
    try:
        url = redis.url
        assert url.startswith(f"redis://:{password}@")
        first = processes.start_process("chat", name="password-first", redis=url)
        second = processes.start_process("chat", name="password-second", redis=url)
        alice = await Member.join("chat", first.port)
        bob = await Member.join("chat", second.port)
        await alice.say("behind a password")
        await bob.wait_for("behind a password")
        for server in (first, second):  # neither in the log, nor on a command line anyone can read (ps)
            await server.wait_for_log("joined the room")
            assert not any(password in line for line in server.log), server.log[:]
            assert not any(password in argument for argument in _command_line(server.pid))
        assert password not in " ".join(_command_line(redis.pid))

        wrong = serve_once(url.replace(password, "wrong-one"))
        assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
        [error] = [line for line in wrong.stderr.splitlines() if line.startswith("ws-course:")]
        assert "refused the password" in error and "wrong-one" not in wrong.stderr, wrong.stderr
        missing = serve_once(url.replace(f":{password}@", ""))
        assert missing.returncode == 2 and "asks for a password" in missing.stderr, missing.stderr
        with pytest.raises(redis_room.RedisRefused, match="refused the password"):
            ws_course.start("event_chat", redis=url.replace(password, "wrong-one"))
        for member in (alice, bob):
            await member.leave()
        for server in (first, second):
            server.stop()
    finally:
        redis.stop()


async def test_a_redis_user_that_may_only_touch_the_course_keys_is_enough_for_a_room():
    redis = start_redis(name="test-acl", password="user-pw", user="course")
    try:
        client = redis_client.Redis.from_url(redis.url)
        with pytest.raises(redis_client.exceptions.NoPermissionError):
            client.set("not-the-course", 1)
        with pytest.raises(redis_client.AuthenticationError):
            redis_client.Redis.from_url(redis.url.replace("course:", ":")).ping()  # the default user is off
        client.close()
        first = processes.start_process("event_chat", name="acl-first", redis=redis.url)
        second = processes.start_process("event_chat", name="acl-second", redis=redis.url)
        alice = await Member.join("event_chat", first.port)
        bob = await Member.join("event_chat", second.port)
        await alice.wait_for("user2 comes in")
        await bob.say("with a user of its own")
        await alice.wait_for("user2 says: with a user of its own")
        await bob.leave()
        await alice.wait_for("user2 left")
        await alice.leave()
        no_tracebacks(first, second)
        for server in (first, second):
            server.stop()
    finally:
        redis.stop()


def test_a_member_announced_back_is_said_in_each_rooms_own_words(redis):
    from ws_course.chat import ChatRoom
    from ws_course.json_chat import JSONChatRoom

    logger = logging.getLogger("ws_course.test-back")
    assert redis_room.shared(ChatRoom, redis.url, "words", logger).back("user2") == "user2 is back"
    assert redis_room.shared(JSONChatRoom, redis.url, "words", logger).back("user2") == '{"type":"enter","data":"user2 is back"}'
