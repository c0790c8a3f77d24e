"""The chat widgets: several members side by side, driven by their own buttons."""

from __future__ import annotations

from ws_course import start
from ws_course.widgets import ChatClient, ChatRoomView

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


async def test_three_members_join_in_order_and_hear_each_other():
    with start("chat") as server:
        room = await ChatRoomView.join(server.ws_url, users=3)
        assert [user.nickname for user in room.users] == ["user1", "user2", "user3"]
        assert repr(room) == "ChatRoomView(['user1', 'user2', 'user3'])"
        assert "user1" in room.users[0].title.value

        second = room.users[1]
        second.text.value = "hello from two"
        second.send_button.click()
        for user in room.users:
            assert await user.next_message() == "hello from two"

        room.users[2].close_button.click()
        for user in room.users[:2]:
            assert await user.next_message() == "user3 left"
        room.close()
        await room.closed()


async def test_json_room_colours_enter_blue_and_leave_red():
    with start("json_chat") as server:
        room = await ChatRoomView.join(server.ws_url, users=2, json=True)
        first = room.users[0]
        assert "<div style='color: blue'>user2 comes in</div>" in first.log_view.value
        room.users[1].send("hi")
        assert await first.next_message() == '{"type":"message","data":"user2 says: hi"}'
        assert "<div style='color: inherit'>user2 says: hi</div>" in first.log_view.value
        room.users[1].close()
        await first.next_message()
        assert "<div style='color: red'>user2 left</div>" in first.log_view.value
        room.close()
        await room.closed()


async def test_markup_from_a_member_is_shown_as_text():
    for demo, json in (("chat", False), ("json_chat", True)):
        with start(demo) as server:
            room = await ChatRoomView.join(server.ws_url, users=2, json=json)
            room.users[0].send(XSS)
            await room.users[1].next_message()
            view = room.users[1].log_view.value
            assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in view
            assert "<img" not in view and "<script" not in view
            room.close()
            await room.closed()


async def test_a_json_member_shows_what_is_not_the_rooms_json():
    with start("chat") as server:  # a plain chat room, read as if it spoke JSON
        member = ChatClient(server.ws_url, json=True)
        await member.opened()
        await member.next_message()
        assert "(not the room&#x27;s JSON) user1 comes in" in member.log_view.value
        assert member.nickname is None
        member.close()
        await member.closed()


async def test_a_chat_client_can_say_who_it_is_in_its_handshake():
    """headers= reach the server's handshake (how a kernel's widget shows a hub token)."""
    seen = []

    async def whoami(websocket):
        seen.append(websocket.request.headers.get("Authorization"))
        await websocket.send(f"you are {seen[-1]}")

    with start(whoami) as server:
        member = ChatClient(server.ws_url, headers={"Authorization": "token abc"})
        assert await member.next_message() == "you are token abc"
        anonymous = ChatClient(server.ws_url)
        assert await anonymous.next_message() == "you are None"
        for client in (member, anonymous):
            client.close()
            await client.closed()
    assert "abc" not in repr(member)  # the token is not shown
