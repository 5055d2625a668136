"""A hostile TLS 1.3 server for bench/sessions.tcl: after each handshake it
sends argv[3] session tickets, then one line, and waits for the client to
close. Serves argv[4] clients, prints its port first. Loopback only."""
import socket
import ssl
import sys

cert, key, tickets, clients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.num_tickets = tickets
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(120)
print(srv.getsockname()[1], flush=True)
for _ in range(clients):
    conn, _ = srv.accept()
    conn.settimeout(120)
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"after the storm\n")
            while tls.recv(4096):
                pass
    except (OSError, ssl.SSLError):
        pass
