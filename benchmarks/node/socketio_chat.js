// The article's Socket.IO chat (section 5) with socket.io 4, on the port given as the
// first argument (0: a free one). Events: enter, mes, leave.
const http = require("http");
const { Server } = require("socket.io");

const app = http.createServer();
const io = new Server(app, { maxHttpBufferSize: 64 * 1024 });
let clientCount = 0;

io.on("connection", (socket) => {
    clientCount++;
    socket.nickname = "user" + clientCount;
    io.emit("enter", socket.nickname + " comes in");
    socket.on("message", (str) => {
        io.emit("mes", socket.nickname + " says: " + str);
    });
    socket.on("disconnect", () => {
        io.emit("leave", socket.nickname + " left");
    });
});

app.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
    process.stderr.write("listening " + app.address().port + "\n");
});
