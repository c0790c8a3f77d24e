"""What the course needs from its libraries beyond their documented API, in one table.

The course leans on websockets, python-socketio and python-engineio in places their
documentation does not promise: an attribute it reads, a method it overrides so that
its own code runs at the right moment, a log message it recognises. Those places are
where an upgrade can break the course without a word, so every one of them is listed
here, as an :class:`Internal` record: which library, which internal, what shape the
course expects of it, which course code needs it, and why.

``tests/test_contract.py`` checks each record against the libraries installed (an
attribute on a real server connection, a method's parameters, that the library still
calls the method the course overrides...) and fails with a message that names the
library and its version, the internal, and the course code to look at. It also checks
that the names the course adds to library classes (:data:`OWN_NAMES`) are still free,
and that the lower bounds in ``pyproject.toml`` are at least the versions in
``Internal.since``.

Every module that uses one of these internals says so in a comment that points here.
Documented API (``serve(create_connection=...)``, ``broadcast()``, ``Server.connections``,
``ServerConnection.respond``, the Sans-I/O ``Protocol.send_text``/``data_to_send``,
``AsyncServer(serializer=..., client_manager=...)``, ``AsyncManager.get_participants``,
Engine.IO's ``send_packet``...) is not listed: its makers keep it working.

This module imports nothing: reading it loads no library.
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = ["INTERNALS", "OWN_NAMES", "Internal", "OwnNames", "Shape"]


class Shape(enum.Enum):
    """What the course expects an internal to be."""

    METHOD = "a method the course calls"
    OVERRIDE = "a method the course overrides or replaces: the library must still call it"
    ATTRIBUTE = "an attribute of the library's objects"
    SET_BY = "an attribute a library method sets"
    NAMES = "names a module or class defines"
    USES_ONLY = "the library calls only these methods on an object the course gives it"
    TEXT = "text in the library's code (a log message, a key)"


@dataclasses.dataclass(frozen=True)
class Internal:
    """One thing the course relies on that its library does not document.

    Attributes:
        library: The distribution's name, as pip knows it (``python-socketio``).
        target: Where it is: ``module:Class.attribute``, ``module:function`` or ``module``.
        shape: What it must be (:class:`Shape`).
        users: The course code that needs it, ``ws_course.module:Name`` (notebooks as
            ``notebooks/NAME.ipynb``).
        why: What the course does with it, and what would break.
        params: For a method: the names of its parameters after ``self``, in order.
        call: For a method: how it is called: ``"await"`` (a coroutine function),
            ``"async for"`` (an async generator) or ``""`` (a plain call).
        used_in: Library code (``module:function`` or a whole ``module``) that must
            still contain :attr:`text`: the call that reaches an override, the read of
            an attribute the course sets.
        text: What :attr:`used_in` must contain (default: ``name(`` for a method,
            the attribute's name otherwise); for :attr:`Shape.TEXT`, the text itself.
        has: For an attribute: what its value must have (attributes, or keys for a
            dict); for :attr:`Shape.NAMES` and :attr:`Shape.USES_ONLY`: the names.
        since: The library version that introduced it, where that sets the course's
            lower bound.
    """

    library: str
    target: str
    shape: Shape
    users: tuple[str, ...]
    why: str
    params: tuple[str, ...] = ()
    call: str = ""
    used_in: tuple[str, ...] = ()
    text: str = ""
    has: tuple[str, ...] = ()
    since: str = ""

    @property
    def name(self) -> str:
        """The internal's own name: the last part of :attr:`target`."""
        return self.target.replace(":", ".").rsplit(".", 1)[-1]


@dataclasses.dataclass(frozen=True)
class OwnNames:
    """Names the course adds to a library's class (a subclass's methods, attributes it sets).

    They must stay free: if the library one day defines one of them, the course's
    would silently replace the library's (or the other way round). A name that the
    course overrides on purpose is an :attr:`Shape.OVERRIDE` record instead.

    Attributes:
        library: The distribution's name.
        base: The library's class, ``module:Class``.
        course: The course's subclass, ``ws_course.module:Class`` (its methods are read
            from the class), or the course code that sets the names on the library's objects.
        names: Instance attributes the course sets (a subclass's own methods need not be listed).
    """

    library: str
    base: str
    course: str
    names: tuple[str, ...] = ()


WEBSOCKETS = "websockets"
SOCKETIO = "python-socketio"
ENGINEIO = "python-engineio"
AIOHTTP = "aiohttp"

_CONNECTION = "websockets.asyncio.connection:Connection"

#: Every internal the course relies on.
INTERNALS: tuple[Internal, ...] = (
    # -- websockets: the server and its connections ----------------------------------
    Internal(
        WEBSOCKETS, "websockets.asyncio.server:Server.all_connections", Shape.ATTRIBUTE,
        users=("ws_course.runtime.server:WebSocketsServerHandle.aclose",),
        why="a server that cannot stop because a client froze mid-close cuts those connections; "
            "Server.connections lists only the open ones, all_connections also those closing",
        has=("__iter__", "__len__"), since="17.0",
    ),
    Internal(
        WEBSOCKETS, f"{_CONNECTION}.send_in_progress", Shape.ATTRIBUTE,
        users=("ws_course.broadcast:broadcast",),
        why="the room's broadcast skips a member in the middle of a fragmented message, as websockets' "
            "own broadcast() does (None when no send is in progress)",
        since="16.0",
    ),
    Internal(
        WEBSOCKETS, f"{_CONNECTION}.protocol", Shape.ATTRIBUTE,
        users=("ws_course.broadcast:broadcast", "ws_course.safety.limits:CappedConnection.send_data",
               "ws_course.exercises.safety:check_rate_limit", "ws_course.exercises.safety:check_message_shape"),
        why="the connection's Sans-I/O protocol: its extensions (broadcast), what it has to send "
            "(CappedConnection), 40 frames written at once by lesson 06c's flooder, and the close frame "
            "lesson 06c's message check's offenders got (close_rcvd)",
        has=("extensions", "close_rcvd", "state", "send_text", "data_to_send"),
    ),
    Internal(
        WEBSOCKETS, f"{_CONNECTION}.transport", Shape.ATTRIBUTE,
        users=("ws_course.broadcast:broadcast", "ws_course.safety.limits:CappedConnection",
               "ws_course.runtime.server:WebSocketsServerHandle.aclose", "ws_course.exercises.safety:check_rate_limit",
               "ws_course.exercises.safety:check_buffer_cap", "ws_course.safety.guard:GuardedConnection.check",
               "notebooks/02-scream.ipynb", "notebooks/06b-slow-members-and-full-rooms.ipynb"),
        why="the TCP connection: the room writes a shared frame to it, CappedConnection reads its unsent bytes "
            "and cuts (abort) a member too far behind, the guard reads the port it came in on (get_extra_info: "
            "the host check), the lessons make a client vanish (the tests and benchmarks too)",
        has=("write", "is_closing", "abort", "get_write_buffer_size", "get_extra_info", "pause_reading"),
    ),
    Internal(
        WEBSOCKETS, f"{_CONNECTION}.loop", Shape.ATTRIBUTE,
        users=("ws_course.exercises.safety:check_buffer_cap",),
        why="lesson 06b's buffer check reads a member's unsent bytes on the server's own event loop "
            "(call_soon_threadsafe), between two of its steps: never halfway through a broadcast",
        has=("call_soon_threadsafe",),
    ),
    Internal(
        WEBSOCKETS, f"{_CONNECTION}.send_data", Shape.OVERRIDE,
        users=("ws_course.safety.limits:CappedConnection.send_data",),
        why="every frame a connection writes (messages, broadcasts, pongs, close frames) goes through it: "
            "the cap on a member's unsent data is checked after each write",
        params=(), used_in=("websockets.asyncio.connection", "websockets.asyncio.server:broadcast"),
        text="send_data()",
    ),
    Internal(
        WEBSOCKETS, f"{_CONNECTION}.connection_made", Shape.OVERRIDE,
        users=("ws_course.safety.limits:CappedConnection.connection_made",),
        why="each member's socket gets its fixed kernel send buffer (SO_SNDBUF) as the TCP connection opens, "
            "before anything is written. connection_made is asyncio's Protocol callback, which websockets "
            "implements: a connection must stay the asyncio protocol that serve() gives loop.create_server(), "
            "so that the event loop calls it with the transport",
        params=("transport",), used_in=("websockets.asyncio.server",), text="loop.create_server(",
    ),
    Internal(
        WEBSOCKETS, "websockets.asyncio.server:ServerConnection.handshake", Shape.OVERRIDE,
        users=("ws_course.safety.guard:GuardedConnection.handshake",),
        why="the classroom guard (origin, duplicate headers, room full) runs before whatever process_request "
            "the demo passed to serve()",
        params=("process_request", "process_response", "server_header"), call="await",
        used_in=("websockets.asyncio.server",), text=".handshake(",
    ),
    Internal(
        WEBSOCKETS, "websockets.http11", Shape.NAMES,
        users=("ws_course.safety.guard:GuardedConnection.handshake",),
        why="SERVER, the Server header websockets sends by default: the guard's handshake keeps that default "
            "(Request and Response are documented, SERVER is not)",
        has=("SERVER", "Request", "Response"),
    ),
    Internal(
        WEBSOCKETS, "websockets.asyncio.server:ServerConnection.server", Shape.ATTRIBUTE,
        users=("ws_course.safety.guard:GuardedConnection.check",),
        why="the server a connection belongs to: its connections are counted against max_clients",
        has=("connections",),
    ),
    Internal(
        WEBSOCKETS, "websockets.protocol:Protocol.extensions", Shape.ATTRIBUTE,
        users=("ws_course.broadcast:broadcast",),
        why="a member with an extension (a browser's permessage-deflate) gets websockets' own frame: "
            "the room's shared bytes are right only for members without one",
        has=("__len__", "__iter__"),
    ),
    Internal(
        WEBSOCKETS, "websockets.protocol:Protocol.close_rcvd", Shape.ATTRIBUTE,
        users=("ws_course.exercises.safety:check_rate_limit",),
        why="the close frame a client received (None before), read as soon as it arrives: close_code is "
            "known only when the TCP connection ends, a close timeout later",
    ),
    Internal(
        WEBSOCKETS, "websockets.frames:Frame.serialize", Shape.METHOD,
        users=("ws_course.broadcast:broadcast",),
        why="the bytes of a text frame, built once for the whole room (Frame is documented, serialize is not)",
        params=("mask", "extensions"),
    ),
    # -- python-socketio: the server ------------------------------------------------
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.eio", Shape.ATTRIBUTE,
        users=("ws_course.web.socketio_app:SocketIOServer", "ws_course.safety.socketio_guard:SocketIOGuard",
               "ws_course.web.socketio_manager:EmitInTurn.emit"),
        why="the Engine.IO server under the Socket.IO server: its message size and CORS rule, its "
            "sessions (the guard), its send_packet (a room's message to each member)",
        has=("send_packet", "on", "handlers", "sockets", "create_queue", "max_http_buffer_size",
             "cors_allowed_origins"),
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.handlers", Shape.ATTRIBUTE,
        users=("ws_course.exercises.article:check_scream_event", "ws_course.safety.socketio_packets:event_handler",
               "ws_course.classroom.event_room:ModeratedEventChat"),
        why="lesson 05's check wraps the learner's event handlers (handlers[namespace][event]), so that "
            "one that raises becomes a verdict, and sees whether 'scream' has one; CheckedPacket finds the "
            "handler an event will reach (and how many arguments it takes) as _get_event_handler does; "
            "the classroom's event chat wraps the demo's handlers with its roster's rules",
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.always_connect", Shape.ATTRIBUTE,
        users=("ws_course.classroom.event_room:ModeratedEventChat",),
        why="the classroom's event chat turns off what the demo's constructor turned on, so that its connect "
            "handler's ConnectionRefusedError (a banned address) reaches the client as a CONNECT_ERROR with "
            "the reason; python-socketio must still read it at each connect",
        used_in=("socketio.async_server:AsyncServer._handle_connect",), text="self.always_connect",
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.reserved_events", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_packets:event_handler",),
        why="events that never go to a catch-all '*' handler ('connect', 'disconnect'): the course's copy of "
            "the look-up skips them as python-socketio does",
        has=("__contains__",), used_in=("socketio.base_server:BaseServer._get_event_handler",),
        text="event not in self.reserved_events",
    ),
    Internal(
        SOCKETIO, "socketio.base_server:BaseServer._get_event_handler", Shape.TEXT,
        users=("ws_course.safety.socketio_packets:event_handler",),
        why="event_handler copies this look-up, without calling it: the namespace's handler for the event, "
            "its '*' handler (which also gets the event's name), then those of the '*' namespace (which also "
            "get the namespace); an event whose arguments do not fit the handler found is refused",
        text='# - self.handlers[namespace][event]\n        # - self.handlers[namespace]["*"]\n'
             '        # - self.handlers["*"][event]\n        # - self.handlers["*"]["*"]',
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.environ", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.websocket_transport",),
        why="each Engine.IO session's WSGI-style environ, keyed by its Engine.IO sid: the aiohttp request "
            "of a session that opened with a WebSocket, whose TCP connection the guard cuts",
        has=("get",),
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.manager", Shape.ATTRIBUTE,
        users=("ws_course.web.socketio_app:SocketIOServer", "ws_course.safety.socketio_guard:SocketIOGuard._connected"),
        why="the client manager (EmitInTurn, or lesson 09's RoomManager): started with the server, closed "
            "with it, and asked who is connected when the server stops, and whether a half-open session has connected",
        has=("get_participants", "emit", "get_namespaces", "sid_from_eio_sid"),
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.manager_initialized", Shape.ATTRIBUTE,
        users=("ws_course.scaleout.redis_socketio:RoomManager.start",),
        why="lesson 09's manager joins Redis when the server starts, not at the first connection; setting "
            "this flag stops python-socketio from initializing it a second time",
        used_in=("socketio.async_server:AsyncServer._handle_eio_connect",),
    ),
    Internal(
        SOCKETIO, "socketio.async_server:AsyncServer.packet_class", Shape.ATTRIBUTE,
        users=("ws_course.web.socketio_manager:EmitInTurn.emit",),
        why="encodes a room's event with the server's own serializer (the course's CheckedPacket), as the "
            "library's emit does",
        has=("encode", "decode", "json"),
    ),
    # -- python-socketio: client managers -------------------------------------------
    Internal(
        SOCKETIO, "socketio.async_manager:AsyncManager.emit", Shape.OVERRIDE,
        users=("ws_course.web.socketio_manager:EmitInTurn.emit",),
        why="a room's message goes to each member in a loop, not a task each; the server and the pub/sub "
            "manager (lesson 09) must still reach it with these parameters",
        params=("event", "data", "namespace", "room", "skip_sid", "callback", "to", "kwargs"), call="await",
        used_in=("socketio.async_server:AsyncServer.emit", "socketio.async_pubsub_manager:AsyncPubSubManager._handle_emit"),
        text="emit(",
    ),
    Internal(
        SOCKETIO, "socketio.base_manager:BaseManager.server", Shape.ATTRIBUTE,
        users=("ws_course.web.socketio_manager:EmitInTurn.emit", "ws_course.scaleout.redis_socketio:RoomManager.start"),
        why="the server a manager serves (set by set_server): its packet class, its Engine.IO server",
    ),
    Internal(
        SOCKETIO, "socketio.base_manager:BaseManager._get_logger", Shape.METHOD,
        users=("ws_course.web.socketio_manager:EmitInTurn.emit",),
        why="the manager's logger (its own, or the server's): one warning for a member that vanished mid-broadcast",
        params=(),
    ),
    Internal(
        SOCKETIO, "socketio.base_manager:BaseManager.sid_from_eio_sid", Shape.METHOD,
        users=("ws_course.safety.socketio_guard:SocketIOGuard._connected",),
        why="a half-open Engine.IO session becomes a member once it has a Socket.IO sid in some namespace "
            "(None before, and after a refused connect), as python-socketio's own admin asks it",
        params=("eio_sid", "namespace"),
    ),
    Internal(
        SOCKETIO, "socketio.base_manager:BaseManager.json", Shape.ATTRIBUTE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._publish",
               "ws_course.scaleout.redis_socketio:RoomManager.checked"),
        why="what is published is encoded as the stock manager encodes it, and decoded the same way",
        has=("dumps", "loads"),
    ),
    Internal(
        SOCKETIO, "socketio.async_pubsub_manager:AsyncPubSubManager._handle_emit", Shape.OVERRIDE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._handle_emit",),
        why="an emit for this process's members (its own, or one from another process) waits while a "
            "newcomer's arrival is announced, so the newcomer hears its own arrival first",
        params=("message",), call="await",
        used_in=("socketio.async_pubsub_manager:AsyncPubSubManager.emit", "socketio.async_pubsub_manager:AsyncPubSubManager._thread"),
    ),
    Internal(
        SOCKETIO, "socketio.async_pubsub_manager:AsyncPubSubManager.channel", Shape.ATTRIBUTE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._publish",
               "ws_course.scaleout.redis_socketio:RoomManager._redis_listen_with_retries"),
        why="the Redis channel the processes of one room share",
    ),
    Internal(
        SOCKETIO, "socketio.async_pubsub_manager:AsyncPubSubManager.thread", Shape.SET_BY,
        users=("ws_course.scaleout.redis_socketio:RoomManager.aclose",),
        why="the listening task that initialize() starts: the manager cancels it when the server stops",
        used_in=("socketio.async_pubsub_manager:AsyncPubSubManager.initialize",), text="self.thread =",
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager._publish", Shape.OVERRIDE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._publish",),
        why="emits are published in order over one connection, and not at all while the room is split",
        params=("data",), call="await",
        used_in=("socketio.async_pubsub_manager:AsyncPubSubManager.emit",),
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager._redis_listen_with_retries", Shape.OVERRIDE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._redis_listen_with_retries",),
        why="losing Redis is one line in the log and a new attempt every RETRY s, not an error per message "
            "and a wait of up to a minute (the course's _listen calls it)",
        params=(), call="async for",
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager._listen", Shape.OVERRIDE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._listen",),
        why="what arrives on the channel is checked before the library sees it (garbage is skipped and "
            "logged once), and the room's own channel is heard on the same connection",
        params=(), call="async for",
        used_in=("socketio.async_pubsub_manager:AsyncPubSubManager._thread",),
    ),
    Internal(
        SOCKETIO, "socketio.async_pubsub_manager:AsyncPubSubManager._thread", Shape.TEXT,
        users=("ws_course.scaleout.redis_socketio:RoomManager._listen",),
        why="the listening task takes a message that _listen yields as a dict as it is (the course's "
            "_listen yields the messages it decoded and checked)",
        text="isinstance(message, dict)",
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager._redis_connect", Shape.METHOD,
        users=("ws_course.scaleout.redis_socketio:RoomManager._redis_listen_with_retries",),
        why="(re)creates the manager's Redis client and pub/sub from its URL and redis_options",
        params=(),
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager.redis", Shape.ATTRIBUTE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._close_clients",
               "ws_course.scaleout.redis_socketio:RoomManager._redis_listen_with_retries"),
        why="the manager's Redis client (None until connected): closed when the room splits or stops",
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager.pubsub", Shape.ATTRIBUTE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._close_clients",
               "ws_course.scaleout.redis_socketio:RoomManager._redis_listen_with_retries"),
        why="the manager's subscription (None until connected): subscribed, read with a timeout, closed",
    ),
    Internal(
        SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager.connected", Shape.ATTRIBUTE,
        users=("ws_course.scaleout.redis_socketio:RoomManager._redis_listen_with_retries",),
        why="set to False when Redis is lost, as the stock manager does, so that _publish connects again",
        used_in=("socketio.async_redis_manager:AsyncRedisManager._publish",),
    ),
    # -- python-socketio: packets ---------------------------------------------------
    Internal(
        SOCKETIO, "socketio.packet:Packet.decode", Shape.OVERRIDE,
        users=("ws_course.safety.socketio_packets:CheckedPacket.decode",),
        why="every packet a client sends is checked (reserved event names, attachments, nesting); it "
            "returns the number of binary attachments announced",
        params=("encoded_packet",), used_in=("socketio.packet:Packet.__init__",), text="self.decode(",
    ),
    Internal(
        SOCKETIO, "socketio.packet:Packet.add_attachment", Shape.OVERRIDE,
        users=("ws_course.safety.socketio_packets:CheckedPacket.add_attachment",),
        why="binary attachments are counted and their bytes capped; it returns True when the packet is complete",
        params=("attachment",), used_in=("socketio.async_server:AsyncServer._handle_eio_message",),
        text=".add_attachment(",
    ),
    Internal(
        SOCKETIO, "socketio.packet:Packet", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_packets:CheckedPacket",),
        why="what a decoded packet holds: its type, its namespace, its data, the attachments announced and received",
        has=("packet_type", "namespace", "data", "attachments", "attachment_count"),
    ),
    Internal(
        SOCKETIO, "socketio.packet:Packet.json", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_packets:CheckedPacket",),
        why="the JSON module a packet class decodes with: CheckedPacket's refuses JSON nested too deep "
            "with ValueError, not RecursionError",
        has=("dumps", "loads"),
    ),
    Internal(
        SOCKETIO, "socketio.packet", Shape.NAMES,
        users=("ws_course.safety.socketio_packets:CheckedPacket.check_payload",
               "ws_course.web.socketio_manager:EmitInTurn.emit"),
        why="the packet types, to check each one's data as Node's socket.io-parser does",
        has=("Packet", "CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"),
    ),
    # -- python-engineio -------------------------------------------------------------
    Internal(
        ENGINEIO, "engineio.packet", Shape.NAMES,
        users=("ws_course.web.socketio_manager:EmitInTurn.emit", "ws_course.safety.socketio_guard:SocketIOGuard.disconnect"),
        why="Engine.IO packets: a room's message, and the CLOSE that ends a cut member's waiting poll",
        has=("Packet", "MESSAGE", "CLOSE"),
    ),
    Internal(
        ENGINEIO, "engineio.base_server:BaseServer.handlers", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.__init__",
               "ws_course.safety.socketio_guard:SocketIOGuard._checked_connect",
               "ws_course.safety.socketio_guard:SocketIOGuard._checked_disconnect"),
        why="the guard wraps python-socketio's handlers: 'message' (a malformed packet is one line in the log "
            "and a disconnect, not a traceback), 'connect' (a new session is half-open until it connects to "
            "Socket.IO) and 'disconnect' (it no longer is); Engine.IO must look each up when it calls it",
        has=("message", "connect", "disconnect"),
        used_in=("engineio.async_server:AsyncServer._trigger_event",), text="self.handlers[event]",
    ),
    Internal(
        ENGINEIO, "engineio.async_server:AsyncServer._handle_connect", Shape.TEXT,
        users=("ws_course.safety.socketio_guard:SocketIOGuard._checked_connect",),
        why="what the connect handler returns decides: None or True accepts the session (the guard then "
            "counts it half-open), anything else refuses it",
        text="if ret is not None and ret is not True:",
    ),
    Internal(
        ENGINEIO, "engineio.base_server:BaseServer.sockets", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard",),
        why="the Engine.IO sessions by sid: counted against max_clients, found by their queue, ended by the guard",
        has=("get", "items", "values", "pop", "__contains__"),
    ),
    Internal(
        ENGINEIO, "engineio.base_server:BaseServer.max_http_buffer_size", Shape.ATTRIBUTE,
        users=("ws_course.web.socketio_app:SocketIOServer.__init__", "ws_course.safety.socketio_guard:SocketIOGuard.check_post"),
        why="the largest message: a long-polling POST above it gets 413, and attachments are capped at it",
    ),
    Internal(
        ENGINEIO, "engineio.base_server:BaseServer.cors_allowed_origins", Shape.ATTRIBUTE,
        users=("ws_course.web.socketio_app:SocketIOServer.__init__",),
        why="set after the server is made to the guard's own rule, a callable(origin, environ), which "
            "Engine.IO accepts though its documentation does not say so",
        used_in=("engineio.base_server:BaseServer._cors_allowed_origins",), text="callable(self.cors_allowed_origins)",
    ),
    Internal(
        ENGINEIO, "engineio.async_server:AsyncServer.create_queue", Shape.OVERRIDE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.__init__",),
        why="replaced on the server: each session's queue is an Outbox that counts the bytes waiting, and "
            "a member too far behind is cut",
        params=("args", "kwargs"), used_in=("engineio.base_socket:BaseSocket.__init__",),
    ),
    Internal(
        ENGINEIO, "engineio.async_socket:AsyncSocket", Shape.USES_ONLY,
        users=("ws_course.safety.socketio_guard:Outbox",),
        why="Outbox implements these (its get() returns a future, which Engine.IO awaits through "
            "asyncio.wait_for): anything else Engine.IO starts calling on its queue needs a look",
        used_in=("engineio.async_socket",), text="self.queue",
        has=("get", "get_nowait", "put", "put_nowait", "task_done", "join"),
    ),
    Internal(
        ENGINEIO, "engineio.base_socket:BaseSocket.queue", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard._outbox_full", "ws_course.safety.socketio_guard:SocketIOGuard.disconnect"),
        why="a session's queue of packets to send (an Outbox): the guard finds a session by it, and empties it",
        has=("put_nowait",),
    ),
    Internal(
        ENGINEIO, "engineio.base_socket:BaseSocket.closed", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.members", "ws_course.safety.socketio_guard:SocketIOGuard.disconnect"),
        why="a session that has closed is no longer a member",
    ),
    Internal(
        ENGINEIO, "engineio.base_socket:BaseSocket.upgraded", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard._check_upgrade",),
        why="whether a session's WebSocket upgrade has completed (False until then): one still not done "
            "handshake_timeout s after its request came is cut",
        used_in=("engineio.async_socket:AsyncSocket._websocket_handler",), text="self.upgraded = True",
    ),
    Internal(
        ENGINEIO, "engineio.async_socket:AsyncSocket.close", Shape.METHOD,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.disconnect",),
        why="ends a session now (wait=False, abort=True): the room hears it leave; Engine.IO's own "
            "disconnect() waits for the client to read its queue, which a frozen client never does",
        params=("wait", "abort", "reason"), call="await",
    ),
    Internal(
        ENGINEIO, "engineio.base_server:BaseServer.reason", Shape.ATTRIBUTE,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.disconnect",),
        why="the reason given to a session the guard ends",
        has=("SERVER_DISCONNECT",),
    ),
    Internal(
        ENGINEIO, "engineio.async_drivers.aiohttp:translate_request", Shape.TEXT,
        users=("ws_course.safety.socketio_guard:SocketIOGuard.websocket_transport",
               "ws_course.safety.socketio_guard:SocketIOGuard._checked_connect"),
        why="Engine.IO keeps the aiohttp request in the environ under this key: its transport is the "
            "TCP connection the guard cuts, its remote address the one a half-open session counts against",
        text="'aiohttp.request'",
    ),
    Internal(
        ENGINEIO, "engineio.async_server:AsyncServer.handle_request", Shape.TEXT,
        users=("ws_course.safety.logs:CLIENT_ERRORS",),
        why="a malformed long-polling body is the client's error: its traceback becomes one line",
        text="post request handler error",
    ),
    # -- aiohttp ---------------------------------------------------------------------
    Internal(
        AIOHTTP, "aiohttp.web_protocol:RequestHandler", Shape.ATTRIBUTE,
        users=("ws_course.safety.connections:WatchedConnection", "ws_course.web.aiohttp_app:AppServer._start"),
        why="runner.server (documented: a protocol factory for loop.create_server) makes one per connection, "
            "and WatchedConnection stands between it and the transport, passing on only connection_made, "
            "data_received, eof_received, pause_writing, resume_writing and connection_lost: aiohttp's "
            "protocol must need no other callback (a BufferedProtocol's get_buffer, buffer_updated)",
        has=("connection_made", "data_received", "eof_received", "pause_writing", "resume_writing", "connection_lost"),
    ),
    Internal(
        AIOHTTP, "aiohttp.web_protocol:RequestHandler.handle_error", Shape.TEXT,
        users=("ws_course.safety.logs:CLIENT_ERRORS",),
        why="a malformed HTTP request is the client's error: its traceback becomes one line",
        text="Error handling request",
    ),
)

#: Names the course adds to its libraries' classes: they must stay free.
OWN_NAMES: tuple[OwnNames, ...] = (
    OwnNames(WEBSOCKETS, "websockets.asyncio.server:ServerConnection", "ws_course.safety.limits:CappedConnection",
             names=("max_buffer", "send_buffer")),
    OwnNames(WEBSOCKETS, "websockets.asyncio.server:ServerConnection", "ws_course.safety.guard:GuardedConnection",
             names=("guard", "origins", "hosts", "page_key")),
    OwnNames(WEBSOCKETS, "websockets.asyncio.server:ServerConnection", "ws_course.hub.room:HubLogin.__call__",
             names=("hub_identity",)),
    OwnNames(SOCKETIO, "socketio.async_manager:AsyncManager", "ws_course.web.socketio_manager:EmitInTurn"),
    OwnNames(SOCKETIO, "socketio.async_redis_manager:AsyncRedisManager", "ws_course.scaleout.redis_socketio:RoomManager",
             names=("_left", "_back", "_arrivals", "_arriving", "room")),
    OwnNames(SOCKETIO, "socketio.packet:Packet", "ws_course.safety.socketio_packets:CheckedPacket",
             names=("attachment_bytes",)),
)
