"""Automatic checks for the "your turn" exercises, one for each lesson that has one.

``from ws_course.exercises import check_ask`` finds every check here. Each runs
your code against a real server and returns a :class:`~ws_course.exercises.judging.Result`
(see :mod:`ws_course.exercises.judging` for how a verdict is made).
"""

from .article import (
    check_ask,
    check_headcount,
    check_nick,
    check_scream_event,
    check_whisper,
)
from .feeds import (
    check_long_poll,
    check_poll_bytes,
    check_sooner_or_later,
    check_sse_reader,
)
from .frames import (
    check_accept_key,
    check_client_frame,
    check_parse_frame,
    check_sans_io_echo,
)
from .judging import Result
from .primer import check_boil_all
from .safety import (
    check_buffer_cap,
    check_host_rule,
    check_member_cap,
    check_message_shape,
    check_origin_rule,
    check_rate_limit,
)
from .scaleout import (
    check_count_members,
    check_deliveries,
    check_hear,
    check_new_nickname,
)

__all__ = [
    "Result",
    "check_accept_key",
    "check_ask",
    "check_boil_all",
    "check_buffer_cap",
    "check_client_frame",
    "check_count_members",
    "check_deliveries",
    "check_headcount",
    "check_hear",
    "check_host_rule",
    "check_long_poll",
    "check_member_cap",
    "check_message_shape",
    "check_new_nickname",
    "check_nick",
    "check_origin_rule",
    "check_parse_frame",
    "check_poll_bytes",
    "check_rate_limit",
    "check_sans_io_echo",
    "check_scream_event",
    "check_sooner_or_later",
    "check_sse_reader",
    "check_whisper",
]
