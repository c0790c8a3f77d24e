"""The instruments of lessons 07 and 09 (and of ``benchmarks/``).

Lesson 07, polling against WebSocket: :mod:`~ws_course.measure.meter` (bytes
counted at the socket), :mod:`~ws_course.measure.feed_clients` (one news feed
followed four ways), :mod:`~ws_course.measure.polling` (requests, bytes and
latency per item), :mod:`~ws_course.measure.polling_report` (its table, plot and
conclusions, in the notebook's language). Lesson 09, a room's fan-out:
:mod:`~ws_course.measure.lean_client` (members that cost next to nothing),
:mod:`~ws_course.measure.fanout` (the experiment), :mod:`~ws_course.measure.plots`.
"""
