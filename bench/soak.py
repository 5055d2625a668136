#!/usr/bin/env python3
"""The Python driver of bench/soak.tcl.

Makes the connections whose bytes a Tcl client cannot shape: raw TCP
(abort, plain text, a hand-made record header announcing 16 KiB + 1),
resets (SO_LINGER {1, 0}) in mid-handshake and in mid-record, truncation
without close_notify, wrong client certificates, slow-loris peers (one
byte per second), and the openssl s_client sessions that send key updates
and ask for renegotiation.  TLS records are made with ssl.SSLObject over
memory BIOs, so the driver decides which bytes go out and when.

Arguments: KEY VALUE pairs (see soak.tcl, soak::round).  Output lines:
PROGRESS n (connections done), CHURNDONE (churn and s_client sessions
over; the slow-loris peers go on), RESULT {tally} (after STOP on stdin or
stdin's end).  The tally is a Tcl list: {kind outcome} count ...
"""

import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

TIMEOUT = 10.0  # per socket operation


def tcl_word(text):
    """One Tcl list element (braced; braces and backslashes replaced)."""
    clean = "".join(c if c not in "{}\\\n\r" else " " for c in str(text))
    return "{" + clean + "}"


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.done = 0

    def add(self, kind, outcome, n=1, connection=True):
        with self.lock:
            key = (kind, " ".join(str(outcome).split()))
            self.counts[key] = self.counts.get(key, 0) + n
            if connection:
                self.done += 1

    def tcl(self):
        with self.lock:
            return " ".join("{%s %s} %d" % (tcl_word(k), tcl_word(o), n) for (k, o), n in sorted(self.counts.items()))


OUT_LOCK = threading.Lock()


def say(line):
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def classify(error):
    """An exception as an outcome word."""
    if isinstance(error, (ssl.SSLZeroReturnError, ssl.SSLEOFError, EOFError)):
        return "eof"
    if isinstance(error, ssl.SSLError):
        return "ssl:%s" % (error.reason or error.__class__.__name__)
    if isinstance(error, ConnectionResetError):
        return "reset"
    if isinstance(error, BrokenPipeError):
        return "epipe"
    if isinstance(error, socket.timeout):
        return "timeout"
    return "error:%s: %s" % (error.__class__.__name__, error)


def payload(i, seq=1):
    n = (i * 31 + seq * 17) % 300
    return ("%d %d %s\n" % (i, seq, chr(97 + (i + seq) % 26) * n)).encode()


class Driver:
    def __init__(self, args):
        self.args = args
        self.port = int(args["port"])
        certdir = args["certdir"]
        self.ca = os.path.join(certdir, "ca.pem")
        self.certs = {
            "good": (os.path.join(certdir, "client.pem"), os.path.join(certdir, "client.key")),
            "selfsigned": (os.path.join(certdir, "selfsigned.pem"), os.path.join(certdir, "selfsigned.key")),
            "none": None,
        }
        self.tally = Tally()
        self.stop = threading.Event()
        self.contexts = {}

    def addr(self, kind):
        return self.args["addr-" + kind]

    def context(self, cert="good", version=None):
        key = (cert, version)
        if key not in self.contexts:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(self.ca)
            if self.certs[cert]:
                ctx.load_cert_chain(*self.certs[cert])
            if version == "1.2":
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            elif version == "1.3":
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            self.contexts[key] = ctx
        return self.contexts[key]

    def tcp(self, kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
            s.bind((self.addr(kind), 0))
            s.settimeout(TIMEOUT)
            s.connect(("127.0.0.1", self.port))
        except BaseException:
            s.close()
            raise
        return s

    # ---- churn kinds: each returns its outcome word ------------------------

    def k_clean_py(self, i):
        ss = self.context().wrap_socket(self.tcp("clean-py"), server_hostname="localhost")
        try:
            line = payload(i)
            ss.sendall(line)
            got = read_line(ss)
            if got != line:
                return "wrong echo"
            raw = ss.unwrap()
            raw.close()
            return "ok"
        finally:
            ss.close()

    def k_abort(self, i):
        s = self.tcp("abort")
        if i % 2:
            reset(s)
        else:
            s.close()
        return "ok"

    def k_plain(self, i):
        s = self.tcp("plain")
        try:
            s.sendall([b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n", b"hello, this is not TLS\n", bytes(range(0, 128)) * 2][i % 3])
            data = read_to_eof(s)
        finally:
            s.close()
        if not data:
            return "eof"
        if data[0] == 0x15:
            return "alert"
        return "data:" + data[:8].hex()

    def k_rst_hs(self, i):
        s = self.tcp("rst-hs")
        m = Mem(self.context(), s)
        hello = m.start()
        variant = i % 3
        if variant == 0:
            s.sendall(hello[: len(hello) // 2])
        else:
            s.sendall(hello)
            if variant == 1:
                s.recv(1)
            else:
                flight = m.until_flight()
                s.sendall(flight[: len(flight) // 2])
        reset(s)
        return "ok"

    def k_rst_rec(self, i):
        s = self.tcp("rst-rec")
        m = Mem(self.context(), s)
        m.handshake()
        variant = i % 3
        line = payload(i)
        if variant == 2:
            s.sendall(m.records(line))
            if m.readline() != line:
                reset(s)
                return "wrong echo"
            line = payload(i, 2)
        record = m.records(line)
        s.sendall(record if variant == 1 else record[: len(record) // 2])
        reset(s)
        return "ok"

    def k_trunc(self, i):
        s = self.tcp("trunc")
        try:
            m = Mem(self.context(), s)
            m.handshake()
            variant = i % 3
            result = "ok"
            if variant != 2:
                line = payload(i)
                s.sendall(m.records(line))
                if m.readline() != line:
                    result = "wrong echo"
                if variant == 1:
                    record = m.records(payload(i, 2))
                    s.sendall(record[: len(record) // 2])
            s.shutdown(socket.SHUT_WR)
            read_to_eof(s)
            return result
        finally:
            s.close()

    def k_bigrec(self, i):
        s = self.tcp("bigrec")
        try:
            variant = i % 3
            if variant == 1:
                m = Mem(self.context(), s)
                m.handshake()
                s.sendall(b"\x17\x03\x03\x40\x01" + os.urandom(16385))
                got = m.readline()
                return "data" if got else "eof"
            header = b"\x16\x03\x01\x40\x01"
            if variant == 0:
                s.sendall(header + bytes(16385))
            else:
                s.sendall(header)
                s.shutdown(socket.SHUT_WR)
            data = read_to_eof(s)
            if not data:
                return "eof"
            return "alert" if data[0] == 0x15 else "data:" + data[:8].hex()
        finally:
            s.close()

    def k_wrongcert_py(self, i):
        cert = ("selfsigned", "none")[i % 2]
        version = ("1.3", "1.2")[(i // 2) % 2]
        ss = self.context(cert, version).wrap_socket(self.tcp("wrongcert-py"), server_hostname="localhost")
        try:
            line = payload(i)
            ss.sendall(line)
            got = read_line(ss)
            return "accepted" if got == line else "data"
        finally:
            ss.close()

    # ---- churn loop ----------------------------------------------------------

    def churn(self, schedule):
        for i, kind in schedule:
            method = getattr(self, "k_" + kind.replace("-", "_"))
            try:
                outcome = method(i)
            except Exception as error:  # every failure is an outcome
                outcome = classify(error)
            self.tally.add(kind, outcome)

    def progress(self):
        while not self.stop.wait(2.0):
            say("PROGRESS %d" % self.tally.done)

    # ---- slow-loris ---------------------------------------------------------

    def slowloris(self, count):
        peers = []
        for n in range(count):
            try:
                peers.append(SlowPeer(self, n, "hs" if n % 2 == 0 else "rec"))
            except Exception as error:
                self.tally.add("slowloris", classify(error))
        while not self.stop.wait(1.0):
            for peer in peers:
                if peer.outcome is None:
                    peer.tick()
        lines = 0
        for peer in peers:
            if peer.outcome is None:
                peer.finish()
            lines += peer.lines
            self.tally.add("slowloris", peer.outcome)
        self.tally.add("slowloris", "note:lines echoed one byte per second", lines, connection=False)

    # ---- s_client sessions --------------------------------------------------

    def sclients(self, keyupdates, loops, renegs):
        sessions = ["keyupdate"] * keyupdates + ["reneg"] * renegs
        random.Random(1).shuffle(sessions)
        for n, kind in enumerate(sessions):
            if self.stop.is_set():
                break
            try:
                outcome = SClient(self, kind, n).run(loops)
            except Exception as error:
                outcome = classify(error)
            self.tally.add(kind, outcome)


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def reset(sock):
    """Closes with an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Mem:
    """A TLS client over memory BIOs on a socket: we decide what is sent."""

    def __init__(self, ctx, sock):
        self.sock = sock
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
        self.done = False

    def pending(self):
        return self.outgoing.read()

    def pull(self):
        data = self.sock.recv(65536)
        if not data:
            self.incoming.write_eof()
        else:
            self.incoming.write(data)
        return data

    def step(self):
        """One handshake attempt; True when complete."""
        try:
            self.obj.do_handshake()
            self.done = True
        except ssl.SSLWantReadError:
            pass
        return self.done

    def start(self):
        """The ClientHello."""
        self.step()
        return self.pending()

    def until_flight(self):
        """Reads the server's flight until the client has its reply."""
        while True:
            self.pull()
            self.step()
            out = self.pending()
            if out:
                return out

    def handshake(self):
        self.step()
        while True:
            out = self.pending()
            if out:
                self.sock.sendall(out)
            if self.done:
                return
            if not self.pull():
                raise EOFError("eof during the handshake")
            self.step()

    def records(self, data):
        self.obj.write(data)
        return self.pending()

    def readline(self):
        data = b""
        while not data.endswith(b"\n"):
            try:
                data += self.obj.read(65536)
            except ssl.SSLWantReadError:
                out = self.pending()
                if out:
                    self.sock.sendall(out)
                self.pull()
        return data


class SlowPeer:
    """One byte per second: the ClientHello and the client's flight
    ("hs"), or, after a quick handshake, the records of each line
    ("rec"); every line must come back."""

    def __init__(self, driver, n, variant):
        self.driver = driver
        self.n = n
        self.variant = variant
        self.sock = driver.tcp("slowloris")
        self.m = Mem(driver.context(), self.sock)
        self.outcome = None
        self.lines = 0
        self.seq = 0
        self.expect = None
        self.received = b""
        self.started = time.monotonic()
        if variant == "hs":
            self.pending = self.m.start()
        else:
            self.m.handshake()
            self.next_line()
        self.sock.setblocking(False)
        # The first byte at once, then one a second.
        self.tick()

    def next_line(self):
        self.seq += 1
        # A short line: its record is about 30 bytes, half a minute.
        self.expect = b"s%d.%d\n" % (self.n, self.seq)
        self.received = b""
        self.pending = self.m.records(self.expect)

    def tick(self):
        try:
            self.read()
            if self.outcome is not None:
                return
            if not self.m.done:
                self.m.step()
                self.pending += self.m.pending()
            elif not self.pending and self.expect is None:
                self.next_line()
            if self.pending:
                sent = self.sock.send(self.pending[:1])
                self.pending = self.pending[sent:]
        except Exception as error:
            self.fail(classify(error))

    def read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not data:
                self.fail("eof from the server")
                return
            self.m.incoming.write(data)
        if not self.m.done or self.expect is None:
            return
        while True:
            try:
                self.received += self.m.obj.read(65536)
            except ssl.SSLWantReadError:
                break
        if self.received.endswith(b"\n"):
            if self.received != self.expect:
                self.fail("wrong echo")
                return
            self.lines += 1
            self.expect = None

    def fail(self, outcome):
        self.outcome = outcome
        self.sock.close()

    def finish(self):
        """STOP: a clean close where a record is not half sent; otherwise
        just a FIN in mid-handshake or mid-record."""
        try:
            self.sock.settimeout(TIMEOUT)
            if self.m.done and not self.pending and self.expect is None:
                try:
                    self.m.obj.unwrap()
                except ssl.SSLWantReadError:
                    pass
                self.sock.sendall(self.m.pending())
            self.sock.shutdown(socket.SHUT_WR)
            read_to_eof(self.sock)
            lived = time.monotonic() - self.started
            # A line takes about 30 s: after 90 s one must have come back.
            if self.variant == "rec" and self.lines == 0 and lived > 90:
                self.outcome = "no line echoed in %d s" % lived
            else:
                self.outcome = "ok"
        except Exception as error:
            self.outcome = classify(error)
        finally:
            self.sock.close()


class SClient:
    """openssl s_client: lines echoed, with K/k (TLS 1.3 key updates) or R
    (TLS 1.2 renegotiation) typed between them."""

    def __init__(self, driver, kind, n):
        self.driver = driver
        self.kind = kind
        self.n = n
        cert, key = driver.certs["good"]
        self.cmd = [
            "openssl", "s_client", "-connect", "127.0.0.1:%d" % driver.port,
            "-bind", "%s:0" % driver.addr(kind), "-servername", "localhost",
            "-CAfile", driver.ca, "-verify_return_error", "-cert", cert, "-key", key,
            "-tls1_3" if kind == "keyupdate" else "-tls1_2", "-brief",
        ]
        self.buffer = b""
        self.output = []

    def run(self, loops):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)
        try:
            return self.session(loops)
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()

    def line(self, seq):
        # Not a letter: s_client takes a line starting with K, k, R or Q
        # as a command.
        return ("= %s %d %d %s" % (self.kind, self.n, seq, "z" * (seq % 50))).encode()

    def send(self, data):
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def wait_for(self, wanted, seconds=TIMEOUT):
        """Reads s_client's output until a line equal to `wanted`; False
        at its end or after `seconds`."""
        deadline = time.monotonic() + seconds
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                self.output.append(line)
                # s_client's own messages may precede the data on a line.
                if line.rstrip(b"\r").endswith(wanted):
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            import select
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return False
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            self.buffer += chunk

    def session(self, loops):
        seq = 0
        if self.kind == "keyupdate":
            for j in range(loops):
                seq += 1
                self.send(self.line(seq))
                if not self.wait_for(self.line(seq)):
                    return "no echo: " + self.last()
                self.send(b"K" if j % 2 == 0 else b"k")
                if not self.wait_for(b"KEYUPDATE"):
                    return "no KEYUPDATE: " + self.last()
            seq += 1
            self.send(self.line(seq))
            if not self.wait_for(self.line(seq)):
                return "no echo after the key updates: " + self.last()
            return "ok"
        seq += 1
        self.send(self.line(seq))
        if not self.wait_for(self.line(seq)):
            return "no echo: " + self.last()
        self.send(b"R")
        if not self.wait_for(b"RENEGOTIATING"):
            return "no RENEGOTIATING: " + self.last()
        seq += 1
        self.send(self.line(seq))
        if self.wait_for(self.line(seq)):
            return "renegotiated"
        text = b"\n".join(self.output[-20:] + [self.buffer])
        if b"no renegotiation" in text:
            return "refused"
        return "after R: " + self.last()

    def last(self):
        lines = [l.decode("latin-1") for l in self.output[-3:]] + [self.buffer.decode("latin-1")]
        return " | ".join(l.strip() for l in lines if l.strip())


def main():
    argv = sys.argv[1:]
    args = dict(zip(argv[0::2], argv[1::2]))
    timeout = float(args.get("timeout", 1800))

    def watchdog():
        sys.stderr.write("soak.py: watchdog: still running after the time limit\n")
        sys.stderr.flush()
        os._exit(3)

    timer = threading.Timer(timeout, watchdog)
    timer.daemon = True
    timer.start()

    driver = Driver(args)
    counts = {k[len("count-"):]: int(v) for k, v in args.items() if k.startswith("count-")}
    schedule = [kind for kind, n in counts.items() for _ in range(n)]
    random.Random(int(args.get("seed", 1))).shuffle(schedule)
    schedule = list(enumerate(schedule))
    parallel = max(1, int(args.get("parallel", 1)))

    def control():
        for line in sys.stdin:
            if line.strip() == "STOP":
                break
        driver.stop.set()

    threading.Thread(target=control, daemon=True).start()
    threading.Thread(target=driver.progress, daemon=True).start()
    slow = threading.Thread(target=driver.slowloris, args=(int(args.get("slow", 0)),))
    slow.start()
    started = time.monotonic()
    churners = [threading.Thread(target=driver.churn, args=(schedule[w::parallel],)) for w in range(parallel)]
    sclients = threading.Thread(target=driver.sclients, args=(int(args.get("keyupdate", 0)), int(args.get("keyupdate_loops", 0)), int(args.get("reneg", 0))))
    for w in churners + [sclients]:
        w.start()
    for w in churners:
        w.join()
    churn_seconds = time.monotonic() - started
    sclients.join()
    say("CHURNDONE %d %.2f %.2f" % (driver.tally.done, churn_seconds, time.monotonic() - started))
    slow.join()
    say("RESULT {%s}" % driver.tally.tcl())


if __name__ == "__main__":
    main()
