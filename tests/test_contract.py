"""The libraries installed still have every internal the course relies on (ws_course.contract).

Each record of :data:`ws_course.contract.INTERNALS` is checked against the library
installed, with real objects where an attribute only exists on an instance (a websockets
server and a client connected over a socket, a python-socketio server, an Engine.IO
session). A failure names the library and its version, the internal, and the course
code that needs it. Three more checks keep the table whole: every private name the
course's code uses is in it, the names the course adds to library classes are still
free, and pyproject.toml's lower bounds are at least the versions the internals need.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import re
import tomllib
import types
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from ws_course.contract import INTERNALS, OWN_NAMES, Internal, OwnNames, Shape

HERE = Path(__file__).resolve().parent.parent


# -- finding things -----------------------------------------------------------------


def find(target: str) -> Any:
    """The object at ``module``, ``module:Name`` or ``module:Class.attribute``; LookupError if there is none."""
    module_name, _, path = target.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise LookupError(f"cannot import {module_name} ({error})") from None
    walked = module_name
    for part in path.split(".") if path else ():
        if not hasattr(found, part):
            raise LookupError(f"{walked} has no {part!r}")
        found = getattr(found, part)
        walked += ("." if walked != module_name else ":") + part
    return found


def owner(target: str) -> Any:
    """The module or class that holds ``target``'s last part."""
    module_name, _, path = target.partition(":")
    parent = path.rpartition(".")[0]
    return find(f"{module_name}:{parent}" if parent else module_name)


def source(target: str) -> str:
    return inspect.getsource(find(target))


def broken(record: Internal, problem: str) -> str:
    """The message of a failed check: the library and version, the internal, who needs it and why."""
    return (
        f"{record.library} {version(record.library)}: {record.target} {problem}\n"
        f"  expected: {record.shape.value}\n"
        f"  needed by: {', '.join(record.users)}\n"
        f"  why: {record.why}\n"
        f"  (the course's contract with its libraries: ws_course/contract.py)"
    )


# -- real objects to look at ----------------------------------------------------------


@contextlib.asynccontextmanager
async def live_objects():
    """A websockets server with a client connected to it, a python-socketio server, an Engine.IO session
    and the protocol an aiohttp runner makes for a connection."""
    import engineio.async_socket
    import socketio
    from aiohttp import web
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    async def handler(websocket):
        accepted.set_result(websocket)
        await websocket.wait_closed()

    runner = web.AppRunner(web.Application(), handle_signals=False)
    await runner.setup()
    try:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}/", proxy=None, compression=None) as client:
                connection = await asyncio.wait_for(accepted, 5)
                sio = socketio.AsyncServer(async_mode="aiohttp")
                redis_manager = socketio.AsyncRedisManager("redis://127.0.0.1:9/0", channel="contract")
                redis_manager.set_server(sio)
                yield types.SimpleNamespace(
                    server=server,
                    connection=connection,
                    client=client,
                    sio=sio,
                    eio=sio.eio,
                    session=engineio.async_socket.AsyncSocket(sio.eio, "contract-sid"),
                    manager=sio.manager,
                    redis_manager=redis_manager,
                    packet=socketio.packet.Packet(socketio.packet.EVENT, data=["news", {"hello": "world"}]),
                    runner=runner,
                    http_protocol=runner.server(),  # what ws_course.web.aiohttp_app gives each connection
                )
    finally:
        await runner.cleanup()


def instances(objects: types.SimpleNamespace) -> list[Any]:
    """Every object of :func:`live_objects`, and the Sans-I/O protocols of the two connections."""
    return [*vars(objects).values(), objects.connection.protocol, objects.client.protocol]


def _scream(sid, data):
    return data


async def _probe_socketio_handlers(objects):
    objects.sio.on("scream", _scream)
    assert objects.sio.handlers["/"]["scream"] is _scream, "is not handlers[namespace][event] = handler"


async def _probe_engineio_handlers(objects):
    assert callable(objects.sio.eio.handlers["message"]), "has no 'message' handler from python-socketio"


async def _probe_close_rcvd(objects):
    assert objects.client.protocol.close_rcvd is None, "is not None while the connection is open"
    await objects.connection.close(1008, "too fast")
    await objects.client.wait_closed()
    received = objects.client.protocol.close_rcvd
    assert (received.code, received.reason) == (1008, "too fast"), f"is {received!r} after a close (1008, 'too fast')"


def _probe_event_lookup(objects):
    """The course's copy of python-socketio's handler look-up finds the same handler, with as many arguments before."""
    import itertools

    import socketio

    from ws_course.safety.socketio_packets import event_handler

    def handler_at(place):
        def handler(*args):
            return args
        handler.__qualname__ = f"handler{place}"
        return handler

    places = [("/", "message"), ("/", "*"), ("*", "message"), ("*", "*")]
    for chosen in itertools.chain.from_iterable(itertools.combinations(places, n) for n in range(len(places) + 1)):
        sio = socketio.AsyncServer(async_mode="aiohttp")
        for namespace, event in chosen:
            sio.on(event, handler_at((namespace, event)), namespace=namespace)
        for namespace, event in itertools.product(("/", "/other"), ("message", "connect", "news")):
            theirs, args = sio._get_event_handler(event, namespace, ("sid",))
            ours, before = event_handler(sio, event, namespace)
            assert (ours, before) == (theirs, len(args) if theirs else 0), (
                f"with handlers at {chosen}: python-socketio finds {theirs!r} with {args}, "
                f"ws_course.safety.socketio_packets:event_handler {ours!r} with {before} arguments before the event's"
            )


def _probe_aiohttp_protocol(objects):
    from ws_course.safety.connections import WatchedConnection

    protocol = objects.http_protocol
    assert not isinstance(protocol, asyncio.BufferedProtocol), "is now an asyncio.BufferedProtocol"
    callbacks = {name for cls in (asyncio.BaseProtocol, asyncio.Protocol, asyncio.BufferedProtocol)
                 for name in vars(cls) if not name.startswith("_")}
    its_own = {name for cls in type(protocol).__mro__ if cls.__module__.startswith("aiohttp.") for name in vars(cls)}
    passed_on = set(vars(WatchedConnection)) & callbacks
    more = sorted((its_own & callbacks) - passed_on)
    assert not more, f"now implements {more}, which ws_course.safety.connections:WatchedConnection does not pass on"


#: Deeper checks of some attributes, on the objects of :func:`live_objects` (an AssertionError says what is wrong).
PROBES = {
    "websockets.asyncio.server:Server.all_connections": lambda o: _check(
        o.connection in o.server.all_connections, "does not hold an open connection"),
    "websockets.asyncio.connection:Connection.send_in_progress": lambda o: _check(
        o.connection.send_in_progress is None, "is not None on a connection that sends nothing"),
    "websockets.asyncio.server:ServerConnection.server": lambda o: _check(
        o.connection.server is o.server, "is not the connection's server"),
    "websockets.protocol:Protocol.extensions": lambda o: _check(
        o.connection.protocol.extensions == [], "is not an empty list on a connection without compression"),
    "websockets.protocol:Protocol.close_rcvd": _probe_close_rcvd,
    "socketio.async_server:AsyncServer.handlers": _probe_socketio_handlers,
    "socketio.async_server:AsyncServer.reserved_events": _probe_event_lookup,
    "socketio.async_server:AsyncServer.environ": lambda o: _check(isinstance(o.sio.environ, dict), "is not a dict"),
    "socketio.async_server:AsyncServer.manager_initialized": lambda o: _check(
        o.sio.manager_initialized is False, "is not False before the first connection"),
    "engineio.base_server:BaseServer.handlers": _probe_engineio_handlers,
    "engineio.base_server:BaseServer.sockets": lambda o: _check(isinstance(o.sio.eio.sockets, dict), "is not a dict"),
    "engineio.base_socket:BaseSocket.queue": lambda o: _check(
        isinstance(o.session.queue, asyncio.Queue), "is not the queue the server's create_queue() made"),
    "engineio.base_socket:BaseSocket.upgraded": lambda o: _check(
        o.session.upgraded is False, "is not False on a new session"),
    "aiohttp.web_protocol:RequestHandler": _probe_aiohttp_protocol,
}


def _check(condition: bool, problem: str) -> None:
    assert condition, problem


# -- the checks, one kind of record at a time ---------------------------------------


def check_callable(record: Internal) -> None:
    try:
        function = find(record.target)
    except LookupError as error:
        pytest.fail(broken(record, f"is gone: {error}"))
    if not callable(function):
        pytest.fail(broken(record, f"is no longer callable: {function!r}"))
    parameters = [name for name in inspect.signature(function).parameters][1:]  # after self
    if record.shape is Shape.OVERRIDE:
        # The library calls the course's version with its own parameters: any change needs a look.
        if tuple(parameters) != record.params:
            pytest.fail(broken(record, f"now takes {tuple(parameters)}, not {record.params}"))
    elif tuple(parameters[: len(record.params)]) != record.params:
        pytest.fail(broken(record, f"now takes {tuple(parameters)}; the course passes {record.params}"))
    kind = ("async for" if inspect.isasyncgenfunction(function)
            else "await" if inspect.iscoroutinefunction(function) else "")
    if kind != record.call:
        said = {"await": "a coroutine function", "async for": "an async generator", "": "a plain function"}
        pytest.fail(broken(record, f"is now {said[kind]}, not {said[record.call]}"))
    if record.shape is Shape.OVERRIDE:
        check_course_override(record, parameters, kind)


def check_course_override(record: Internal, parameters: list[str], kind: str) -> None:
    """The course's own version accepts what the library passes, and is the same kind of function."""
    for user in record.users:
        if not user.endswith("." + record.name):
            continue  # replaced on an instance (create_queue), not overridden in a class
        ours = find(user)
        signature = inspect.signature(ours)
        accepts_any = {p.kind for p in signature.parameters.values()} & {
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL}
        missing = [name for name in parameters if name not in signature.parameters and not accepts_any]
        if missing:
            pytest.fail(broken(record, f"passes {missing}, which the course's {user} does not take"))
        ours_kind = ("async for" if inspect.isasyncgenfunction(ours)
                     else "await" if inspect.iscoroutinefunction(ours) else "")
        if ours_kind != kind:
            pytest.fail(broken(record, f"is not the same kind of function as the course's {user}"))


def check_used_in(record: Internal) -> None:
    text = record.text or (f"{record.name}(" if record.shape is Shape.OVERRIDE else record.name)
    for place in record.used_in:
        try:
            code = source(place)
        except (LookupError, OSError, TypeError) as error:
            pytest.fail(broken(record, f"cannot be checked: {place} is gone ({error})"))
        if text not in code:
            pytest.fail(broken(record, f"is no longer used where the course expects: {place} has no {text!r}"))


def check_value(record: Internal, value: Any, where: str) -> None:
    for name in record.has:
        present = hasattr(value, name) or (isinstance(value, Mapping) and name in value)
        if not present:
            pytest.fail(broken(record, f"{where} has no {name!r}"))


async def check_attribute(record: Internal) -> None:
    """``module:Class.attribute`` on every real instance of Class; ``module:Class``: the fields in ``has``."""
    fields_only = "." not in record.target.partition(":")[2]
    try:
        cls = find(record.target) if fields_only else owner(record.target)
    except LookupError as error:
        pytest.fail(broken(record, f"is gone: {error}"))
    assert inspect.isclass(cls), f"{record.target}: not an attribute of a class"
    async with live_objects() as objects:
        checked = [each for each in instances(objects) if isinstance(each, cls)]
        assert checked, f"test_contract has no real {cls.__qualname__} to check {record.target} on: add one to live_objects()"
        for instance in checked:
            if fields_only:
                check_value(record, instance, f"a {type(instance).__qualname__}")
                continue
            if not hasattr(instance, record.name):
                pytest.fail(broken(record, f"is gone: a {type(instance).__qualname__} has no {record.name!r}"))
            value = getattr(instance, record.name)
            check_value(record, value, f"its value (a {type(value).__qualname__})")
        probe = PROBES.get(record.target)
        if probe is not None:
            try:
                result = probe(objects)
                if inspect.isawaitable(result):
                    await result
            except AssertionError as error:
                pytest.fail(broken(record, str(error)))
    check_used_in(record)


def find_or_none(target: str) -> Any:
    try:
        return find(target)
    except LookupError:
        return None


def check_names(record: Internal) -> None:
    try:
        holder = find(record.target)
    except LookupError as error:
        pytest.fail(broken(record, f"is gone: {error}"))
    missing = [name for name in record.has if not hasattr(holder, name)]
    if missing:
        pytest.fail(broken(record, f"no longer defines {missing}"))


def check_uses_only(record: Internal) -> None:
    code = "\n".join(source(place) for place in record.used_in)
    used = set(re.findall(re.escape(record.text) + r"\.(\w+)", code))
    if not used:
        pytest.fail(broken(record, f"no longer uses {record.text}: the course's object may be ignored"))
    more = sorted(used - set(record.has))
    if more:
        pytest.fail(broken(record, f"now also calls {more} on {record.text}"))


def check_text(record: Internal) -> None:
    try:
        code = source(record.target)
    except (LookupError, OSError, TypeError) as error:
        pytest.fail(broken(record, f"is gone: {error}"))
    if record.text not in code:
        pytest.fail(broken(record, f"no longer contains {record.text!r}"))


@pytest.mark.parametrize("record", INTERNALS, ids=lambda record: f"{record.library}:{record.target}")
async def test_each_internal_the_course_relies_on_is_still_there(record: Internal):
    if record.shape in (Shape.METHOD, Shape.OVERRIDE):
        check_callable(record)
        check_used_in(record)
    elif record.shape is Shape.ATTRIBUTE:
        await check_attribute(record)
    elif record.shape is Shape.SET_BY:
        check_used_in(record)
    elif record.shape is Shape.NAMES:
        check_names(record)
    elif record.shape is Shape.USES_ONLY:
        check_uses_only(record)
    elif record.shape is Shape.TEXT:
        check_text(record)
    else:
        raise AssertionError(f"no check for {record.shape}")


# -- the table is whole ---------------------------------------------------------------


def course_modules() -> dict[str, str]:
    """Every module of ws_course but the contract itself: dotted name -> source."""
    package = HERE / "ws_course"
    return {
        ".".join(path.relative_to(HERE).with_suffix("").parts).removesuffix(".__init__"): path.read_text()
        for path in sorted(package.rglob("*.py"))
        if path.name != "contract.py"
    }


def test_every_private_name_the_course_uses_from_a_library_is_in_the_contract():
    """``x._name`` in the course's code is the course's own name, or an internal in the contract."""
    modules = course_modules()
    everything = "\n".join(modules.values())
    own = set(re.findall(r"def (_\w+)", everything))
    own |= set(re.findall(r"\.(_\w+)\s*(?::[^=\n]*)?=(?!=)", everything))
    own |= set(re.findall(r"^\s*(_\w+)\s*(?::[^=\n]*)?=", everything, re.MULTILINE))
    listed = {record.name for record in INTERNALS}
    unlisted = {}
    for module, text in modules.items():
        for name in re.findall(r"\.(_[a-z]\w*)", text):
            if name not in own and name not in listed:
                unlisted.setdefault(name, set()).add(module)
    assert not unlisted, (
        f"the course uses private names of its libraries that ws_course/contract.py does not list: {unlisted}"
    )


async def test_the_names_the_course_adds_to_library_classes_are_still_free():
    async with live_objects() as objects:
        for record in OWN_NAMES:
            check_own_names(record, objects)


def check_own_names(record: OwnNames, objects: types.SimpleNamespace) -> None:
    base = find(record.base)
    course = find(record.course)
    names = set(record.names)
    if inspect.isclass(course):
        assert issubclass(course, base), f"{record.course} is not a subclass of {record.base}"
        for cls in course.__mro__:
            if cls.__module__.startswith("ws_course."):
                names |= {name for name in vars(cls) if not (name.startswith("__") and name.endswith("__"))}
    live = [each for each in instances(objects) if isinstance(each, base)]
    assert live, f"test_contract has no real {base.__qualname__}: add one to live_objects()"
    intended = {
        (internal.name, owner(internal.target))
        for internal in INTERNALS
        if internal.shape in (Shape.OVERRIDE, Shape.ATTRIBUTE) and internal.target.count(".") >= 1
    }
    for name in sorted(names):
        taken = hasattr(base, name) or any(hasattr(each, name) for each in live)
        if not taken:
            continue
        on_purpose = any(name == internal_name and inspect.isclass(holder) and issubclass(base, holder)
                         for internal_name, holder in intended)
        assert on_purpose, (
            f"{record.library} {version(record.library)}: {record.base} now has {name!r}, a name that "
            f"{record.course} gives its own meaning: rename the course's, or, if the course means to "
            f"override it, list it in ws_course/contract.py"
        )


def test_each_internal_names_real_course_code_that_says_it_relies_on_the_contract():
    modules = course_modules()
    for record in INTERNALS:
        assert record.users, f"{record.target}: which course code needs it?"
        for user in record.users:
            if user.startswith("notebooks/"):
                notebook = HERE / user
                assert notebook.exists(), f"{record.target}: {user} does not exist"
                code = "".join("".join(cell["source"]) for cell in json.loads(notebook.read_text(), strict=False)["cells"]
                               if cell["cell_type"] == "code")
                assert f".{record.name}" in code, f"{user} no longer uses {record.name}: update ws_course/contract.py"
                continue
            assert find_or_none(user) is not None, f"{record.target}: {user} does not exist"
            module = user.partition(":")[0]
            assert "ws_course.contract" in modules[module], (
                f"{module} uses {record.target}: say so in a comment that points at ws_course.contract"
            )


def test_the_records_are_unique_and_complete():
    targets = [record.target for record in INTERNALS]
    assert len(targets) == len(set(targets)), "a target is listed twice"
    for record in INTERNALS:
        assert record.library in {"websockets", "python-socketio", "python-engineio", "aiohttp"}, record
        assert record.why, f"{record.target}: why does the course need it?"
        if record.shape is Shape.TEXT:
            assert record.text, f"{record.target}: which text?"
        if record.shape in (Shape.SET_BY, Shape.USES_ONLY):
            assert record.used_in and record.text, f"{record.target}: where, and what?"


def declared_lower_bounds() -> dict[str, Version]:
    """The lowest version pyproject.toml admits for each dependency that has a lower bound."""
    dependencies = tomllib.loads((HERE / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for line in dependencies:
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator in (">=", "==", "~="):
                bounds[requirement.name] = Version(spec.version)
    return bounds


def test_the_declared_lower_bounds_have_what_the_course_needs():
    bounds = declared_lower_bounds()
    for record in INTERNALS:
        if record.since:
            assert record.library in bounds, f"pyproject.toml declares no lower bound for {record.library}"
            assert bounds[record.library] >= Version(record.since), (
                f"{record.library}'s lower bound in pyproject.toml is {bounds[record.library]}, but "
                f"{record.target} (needed by {', '.join(record.users)}) came in {record.since}"
            )


def test_a_broken_internal_is_reported_with_library_version_internal_and_user():
    """What a failure says, on a made-up internal that does not exist."""
    record = Internal("websockets", "websockets.asyncio.server:Server.no_such_thing", Shape.METHOD,
                      users=("ws_course.runtime.server:WebSocketsServerHandle.aclose",), why="an example")
    with pytest.raises(pytest.fail.Exception) as failed:
        check_callable(record)
    message = str(failed.value)
    assert f"websockets {version('websockets')}" in message
    assert "websockets.asyncio.server:Server.no_such_thing is gone" in message
    assert "needed by: ws_course.runtime.server:WebSocketsServerHandle.aclose" in message


def test_the_lower_bounds_job_installs_exactly_the_declared_lower_bounds():
    """.ci/lower-bounds.txt, which CI's lower-bounds job installs, pins each socket library to pyproject.toml's bound."""
    pinned = {}
    for line in (HERE / ".ci" / "lower-bounds.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            [spec] = requirement.specifier
            assert spec.operator == "==", f".ci/lower-bounds.txt: {line} is not an exact version"
            pinned[requirement.name] = Version(spec.version)
    assert set(pinned) == {"websockets", "python-socketio", "python-engineio"}
    bounds = declared_lower_bounds()
    for name, pin in pinned.items():
        assert bounds[name] == pin, f"pyproject.toml's lower bound for {name} is {bounds[name]}, .ci/lower-bounds.txt pins {pin}"
