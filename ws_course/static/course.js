// What the course's pages do the same way, shared so that each page's own script
// shows only how it talks to its server. (echo.html, lesson 01's page, does all of
// this itself: it is the whole browser API in one page.)

// The page's words in the language its address asks for (?lang=zh): the server that sent
// the page put them in WORDS, English text to translation. Without them (or for a text
// they lack), the English as written here.
function _(text) {
    return (typeof WORDS === "object" && WORDS[text]) || text;
}

// A sentence with its {names} filled in: fill(_("next try in {wait} s"), {wait: 2}).
// (The values go in after the translation: Chinese may put them elsewhere.)
function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) { return values[name]; });
}

// The socket's address: where this page came from (same host, same port, and the same
// path prefix if a proxy serves us), with ws: for http: and wss: for https:.
function socketUrl() {
    var url = new URL(".", location.href);
    url.protocol = (url.protocol === "https:") ? "wss:" : "ws:";
    return url;
}

// Open a WebSocket with open(), which returns it, and keep it open: show its state in
// #state, enable #sendBtn (if the page has one) only while it is open, and when it closes,
// say why in words and open a new one, waiting longer after each failure (1 s, 2 s, 4 s,
// ... at most 30 s). gone(wait, closeEvent), if given, words the hint instead of serverGone.
function keepConnected(open, gone) {
    var state = document.getElementById("state");
    var sendBtn = document.getElementById("sendBtn");
    var wait = 1;
    var firstClose = null;  // the close that began this outage: the tries after it fail with 1006
    function connect() {
        var websocket = open();
        websocket.addEventListener("open", function () {
            state.textContent = _("open");
            state.className = "";
            if (sendBtn) { sendBtn.disabled = false; }
            wait = 1;
            firstClose = null;
            showHint("");
        });
        websocket.addEventListener("error", function () {
            state.textContent = _("error");
        });
        websocket.addEventListener("close", function (e) {
            if (state.className !== "closed") {  // tries that fail again leave the first close in view
                state.textContent = closedWords(e);
                state.className = "closed";
            }
            if (sendBtn) { sendBtn.disabled = true; }
            firstClose = firstClose || e;
            showHint((gone || serverGone)(wait, firstClose));
            setTimeout(connect, wait * 1000);
            wait = Math.min(wait * 2, 30);
        });
    }
    connect();
}

// "closed (code 1006)", or with the reason the server gave: "closed (code 1008: too many members)".
function closedWords(e) {
    return e.reason ? fill(_("closed (code {code}: {reason})"), {code: e.code, reason: e.reason})
                    : fill(_("closed (code {code})"), {code: e.code});
}

// What a page whose server is gone tells the learner: which cells to run, and what it does meanwhile.
// (Code 1008, "policy violation", is not a server gone: it closed this page on purpose, and says why.)
function serverGone(wait, closed) {
    if (closed && closed.code === 1008) {
        var reason = closed.reason || "policy violation";  // the protocol's name for 1008: not translated
        return wait ? fill(_("The server closed this connection: {reason}. This page tries again by itself: "
                             + "next try in {wait} s."), {reason: reason, wait: wait})
                    : fill(_("The server closed this connection: {reason}. This page tries again by itself."),
                           {reason: reason});
    }
    return wait ? fill(_("The server is not running. Run the cell that starts it again, then the cell that "
                         + "shows this page: a server started again gets a new port. (Should it come back at "
                         + "this address, this page reconnects by itself: next try in {wait} s.)"), {wait: wait})
                : _("The server is not running. Run the cell that starts it again, then the cell that "
                    + "shows this page: a server started again gets a new port. (Should it come back at "
                    + "this address, this page reconnects by itself.)");
}

// Show a sentence under the socket's state (an empty one hides it).
function showHint(text) {
    var hint = document.getElementById("hint");
    if (!hint) {
        hint = document.createElement("p");
        hint.id = "hint";
        hint.style.color = "#b00";
        document.getElementById("state").parentNode.after(hint);
    }
    hint.textContent = text;
    hint.hidden = !text;
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
    var wait = 1;  // after a refusal, seconds before the next try: 1, 2, 4, ... at most 30
    function enable(on) {
        if (sendBtn) { sendBtn.disabled = !on; }
    }
    socket.on("connect", function () {
        wait = 1;
        // Socket.IO starts with HTTP long-polling, then upgrades to a WebSocket when it can.
        var engine = socket.io.engine;
        state.textContent = fill(_("connected ({transport})"), {transport: engine.transport.name});
        state.className = "";
        showHint("");
        engine.once("upgrade", function (transport) {
            state.textContent = fill(_("connected ({transport})"), {transport: transport.name});
        });
        enable(true);
    });
    socket.on("connect_error", function (error) {
        if (state.className !== "closed") {  // tries that fail again leave the first close in view
            state.textContent = fill(_("error: {message}"), {message: error.message});
            state.className = "closed";
        }
        // socket.active: Socket.IO's client tries again by itself, waiting longer each time.
        if (socket.active) { showHint(serverGone()); return; }
        // Not active: the server refused this page and said why (its connect handler raised
        // ConnectionRefusedError, as a class's room does after the teacher's kick). Socket.IO's
        // client gives up; the page tries again by itself, waiting longer each time.
        showHint(fill(_("The server refused this page: {why} This page tries again by itself: next try in {wait} s."),
                      {why: error.message, wait: wait}));
        setTimeout(function () { socket.connect(); }, wait * 1000);
        wait = Math.min(wait * 2, 30);
    });
    socket.on("disconnect", function (reason) {
        state.textContent = fill(_("disconnected ({reason})"), {reason: reason});
        state.className = "closed";
        enable(false);
        showHint(serverGone());
        // A server shutting down says goodbye ("io server disconnect"), and then Socket.IO's
        // client does not try again by itself: start it, and it goes on trying by itself.
        if (reason === "io server disconnect") { setTimeout(function () { socket.connect(); }, 1000); }
    });
}
