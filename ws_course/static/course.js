// What the course's pages do the same way, shared so that each page's own script
// shows only how it talks to its server. (echo.html, lesson 01's page, does all of
// this itself: it is the whole browser API in one page.)

// The socket's address: where this page came from (same host, same port, and the same
// path prefix if a proxy serves us), with ws: for http: and wss: for https:.
function socketUrl() {
    var url = new URL(".", location.href);
    url.protocol = (url.protocol === "https:") ? "wss:" : "ws:";
    return url;
}

// Show a WebSocket's state in #state, and enable #sendBtn only while it is open.
function showState(websocket) {
    var state = document.getElementById("state");
    var sendBtn = document.getElementById("sendBtn");
    websocket.addEventListener("open", function () {
        state.textContent = "open";
        sendBtn.disabled = false;
    });
    websocket.addEventListener("error", function () {
        state.textContent = "error";
    });
    websocket.addEventListener("close", function (e) {
        state.textContent = "closed (code " + e.code + (e.reason ? ": " + e.reason : "") + ")";
        state.className = "closed";
        sendBtn.disabled = true;
    });
}

// Call send(text) when #sendBtn is clicked or Enter is pressed in #sendTxt, then
// empty the box. Empty texts are not sent.
function onSend(send) {
    var sendTxt = document.getElementById("sendTxt");
    var sendBtn = document.getElementById("sendBtn");
    function submit() {
        if (sendTxt.value && !sendBtn.disabled) {
            send(sendTxt.value);
            sendTxt.value = "";
        }
    }
    sendBtn.onclick = submit;
    sendTxt.onkeydown = function (e) {
        if (e.key === "Enter") { submit(); }
    };
}

// Add one line to #messages. textContent shows the text exactly as it is: whatever
// it contains, the browser never runs it as HTML (the article's innerHTML would).
function showLine(text, className) {
    var div = document.createElement("div");
    div.textContent = text;
    div.className = className || "";
    document.getElementById("messages").appendChild(div);
}

// Options for io(): the Socket.IO endpoint next to this page (behind a proxy too), and
// the transports named in the page's address, if any (?transports=polling: long-polling only).
function ioOptions() {
    var options = { path: new URL("socket.io/", location.href).pathname };
    var transports = new URLSearchParams(location.search).get("transports");
    if (transports) {
        options.transports = transports.split(",");
    }
    return options;
}

// Show a Socket.IO socket's state in #state, and enable #sendBtn (if any) only while connected.
function showIoState(socket) {
    var state = document.getElementById("state");
    var sendBtn = document.getElementById("sendBtn");
    function enable(on) {
        if (sendBtn) { sendBtn.disabled = !on; }
    }
    socket.on("connect", function () {
        // Socket.IO starts with HTTP long-polling, then upgrades to a WebSocket when it can.
        var engine = socket.io.engine;
        state.textContent = "connected (" + engine.transport.name + ")";
        state.className = "";
        engine.once("upgrade", function (transport) {
            state.textContent = "connected (" + transport.name + ")";
        });
        enable(true);
    });
    socket.on("connect_error", function (error) {
        state.textContent = "error: " + error.message;
    });
    socket.on("disconnect", function (reason) {
        state.textContent = "disconnected (" + reason + ")";
        state.className = "closed";
        enable(false);
    });
}
