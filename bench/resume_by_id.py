"""A TLS 1.2 client without tickets for bench/sessions.tcl: argv[3] full
handshakes with the server at 127.0.0.1:argv[1] (each leaves a session in
the server's cache), each resumed once by session id; prints the count
every argv[4] connections."""
import socket
import ssl
import sys

port, ca, count, step = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.options |= ssl.OP_NO_TICKET


def connect(session=None):
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"hi\n")
            tls.recv(100)
            return tls.session, tls.session_reused


resumed = 0
for i in range(1, count + 1):
    session, _ = connect()
    resumed += connect(session)[1]
    if i % step == 0:
        print(i, resumed, flush=True)
