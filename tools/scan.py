#!/usr/bin/env python3
"""make scan: the scanners people point at TLS servers, against ours.

Runs testssl.sh (Debian's `testssl`, JSON output) and a selection of
tlsfuzzer scripts (the snapshot in ../shared/tlsfuzzer, run from a virtual
environment this script makes under .scan/) against a `tls::socket -server`
of this package (tools/scan_server.tcl) and against `openssl s_server -www`
with the same RSA certificate and key and our default protocol range
(TLS 1.2 and 1.3), the reference. For each tool it
prints both verdicts, our server's descriptors and RSS before and after,
and whether it still serves a normal client afterwards.

It fails (exit status 1) on a crash of our server, a hang (a tool that
does not finish in its time against our server but does against the
reference), descriptors that do not come back, a server that no longer
answers, or a verdict where we are worse than s_server (a tlsfuzzer check
that fails against us and passes against s_server; a testssl finding with
a higher severity). It prints figures and verdicts; it asserts nothing
about speed.

    python3 tools/scan.py [--quick] [--tclsh TCLSH] [--only NAME ...]

--quick is the selection CI runs (a few minutes); without it, the full
run (README.md, "make scan", has its figures). Everything listens on
127.0.0.1; the servers are stopped by PID at the end.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(REPO, ".scan")
FUZZER = os.environ.get("TLSFUZZER_DIR", os.path.join(os.path.dirname(REPO), "shared", "tlsfuzzer"))
PYPI = ["tlslite-ng==0.9.0b2", "ecdsa"]

# tlsfuzzer scripts (module names under tlsfuzzer/_apps) with extra
# arguments. FULL: every script of the snapshot in which s_server, under
# Debian's OpenSSL configuration (security level 2, TLS 1.2 and 1.3),
# passes at least one check, so that a comparison says something (most
# others fail at once there: they offer only SHA-1 signatures, DSA or
# ECDSA certificates, client certificates...). Left out: the timing
# scripts (bleichenbacher-timing, marvin, lucky13, minerva: hours on a
# quiet machine) and test-tls13-lengths (over 60 s against s_server).
# QUICK, for CI: the handshake, tickets, key updates, resumption, aborts,
# record-layer limits and fragmentation, malformed key exchange.
QUICK = [
    ("test_tls13_conversation", []),
    ("test_tls13_count_tickets", []),
    ("test_tls13_keyupdate", []),
    ("test_tls13_session_resumption", []),
    ("test_connection_abort", []),
    ("test_record_layer_fragmentation", []),
    ("test_tls13_record_layer_limits", []),
    ("test_ecdhe_rsa_key_exchange_with_bad_messages", []),
]
FULL = QUICK + [
    ("test_TLSv1_2_rejected_without_TLSv1_2", []),
    ("test_aesccm", []),
    ("test_alpn_negotiation", []),
    ("test_atypical_padding", []),
    ("test_bleichenbacher_workaround", []),
    ("test_chacha20", []),
    ("test_client_compatibility", []),
    ("test_clienthello_md5", []),
    ("test_cve_2004_0079", []),
    ("test_cve_2016_6309", []),
    ("test_cve_2016_7054", []),
    ("test_dhe_rsa_key_exchange_signatures", []),
    ("test_dhe_rsa_key_exchange_with_bad_messages", []),
    ("test_downgrade_protection", []),
    ("test_dsa_sig_flexibility", []),
    ("test_ecdsa_sig_flexibility", []),
    ("test_export_ciphers_rejected", []),
    ("test_extended_master_secret_extension", []),
    ("test_extensions", []),
    ("test_fallback_scsv", []),
    ("test_ffdhe_expected_params", []),
    ("test_hello_request_by_client", []),
    ("test_interleaved_CKE_with_CCS", []),
    ("test_invalid_cipher_suites", []),
    ("test_invalid_client_hello", []),
    ("test_invalid_client_hello_w_record_overflow", []),
    ("test_invalid_server_name_extension", []),
    ("test_invalid_server_name_extension_resumption", []),
    ("test_invalid_session_id", []),
    ("test_invalid_version", []),
    ("test_legacy_renegotiation", []),
    ("test_message_skipping", []),
    ("test_no_mlkem_in_old_tls", []),
    ("test_point_extension", []),
    ("test_sessionID_resumption", []),
    ("test_sig_algs", []),
    ("test_sig_algs_renegotiation_resumption", []),
    ("test_signature_algorithms", []),
    ("test_sslv2_force_cipher", []),
    ("test_sslv2_force_cipher_3des", []),
    ("test_sslv2_force_cipher_non3des", []),
    ("test_sslv2_force_export_cipher", []),
    ("test_sslv2hello_protocol", []),
    ("test_tls13_0rtt_garbage", []),
    ("test_tls13_ccs", []),
    ("test_tls13_certificate_compression", []),
    ("test_tls13_connection_abort", []),
    ("test_tls13_crfg_curves", []),
    ("test_tls13_dhe_shared_secret_padding", []),
    ("test_tls13_ecdhe_curves", []),
    ("test_tls13_ecdsa_support", []),
    ("test_tls13_eddsa", []),
    ("test_tls13_empty_alert", []),
    ("test_tls13_ffdhe_groups", []),
    ("test_tls13_ffdhe_sanity", []),
    ("test_tls13_finished", []),
    ("test_tls13_finished_plaintext", []),
    ("test_tls13_hrr", []),
    ("test_tls13_invalid_ciphers", []),
    ("test_tls13_keyshare_omitted", []),
    ("test_tls13_keyupdate_from_server", []),
    ("test_tls13_large_number_of_extensions", []),
    ("test_tls13_legacy_version", []),
    ("test_tls13_multiple_ccs_messages", []),
    ("test_tls13_no_unknown_groups", []),
    ("test_tls13_nociphers", []),
    ("test_tls13_non_support", []),
    ("test_tls13_obsolete_curves", []),
    ("test_tls13_pkcs_signature", []),
    ("test_tls13_record_padding", []),
    ("test_tls13_rsa_signatures", []),
    ("test_tls13_serverhello_random", []),
    ("test_tls13_shuffled_extentions", []),
    ("test_tls13_signature_algorithms", []),
    ("test_tls13_symetric_ciphers", []),
    ("test_tls13_unencrypted_alert", []),
    ("test_tls13_unrecognised_groups", []),
    ("test_tls13_version_negotiation", []),
    ("test_tls13_zero_content_type", []),
    ("test_tls13_zero_length_data", []),
    ("test_truncating_of_client_hello", []),
    ("test_version_numbers", []),
    ("test_x25519", []),
]

# testssl: CI runs the protocol, server-default and vulnerability checks;
# the full run everything testssl does by default.
TESTSSL_QUICK = ["--protocols", "--server-defaults", "--vulnerable"]
TESTSSL_FULL = []
SEVERITY = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def log(*args):
    print(*args, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(directory):
    """An RSA CA and an RSA server certificate for localhost/127.0.0.1:
    tlsfuzzer's scripts mostly offer RSA signature schemes only, and TLS
    1.3 wants the chain signed with one of them too."""
    def run(*argv):
        subprocess.run(argv, cwd=directory, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=Scan Test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", "server.ext", "-out", "server.pem")
    return os.path.join(directory, "server.pem"), os.path.join(directory, "server.key")


def venv_python():
    """The virtual environment with tlslite-ng and ecdsa, made once."""
    venv = os.path.join(WORK, "venv")
    python = os.path.join(venv, "bin", "python")
    check = [python, "-c", "import tlslite, ecdsa; assert tlslite.__version__ == '0.9.0b2'"]
    if os.path.exists(python) and subprocess.run(check, stderr=subprocess.DEVNULL).returncode == 0:
        return python
    log("scan: making the virtual environment in .scan/venv (" + ", ".join(PYPI) + ")")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *PYPI], check=True)
    subprocess.run(check, check=True)
    return python


class Server:
    """A server process under test, with its descriptors and RSS."""

    def __init__(self, name, argv, env=None, port=None, logdir=None):
        self.name = name
        self.logfile = open(os.path.join(logdir, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE if port is None else self.logfile,
                                     stderr=self.logfile, env=env)
        if port is None:
            line = self.proc.stdout.readline().decode().strip()
            if not line.isdigit():
                raise RuntimeError(f"{name} did not start: {line!r} (see {self.logfile.name})")
            port = int(line)
        self.port = port
        self.wait_listening()

    def wait_listening(self):
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} does not listen on {self.port}")

    def alive(self):
        return self.proc.poll() is None

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return -1

    def rss_mb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            return kb / 1024
        except (OSError, AttributeError):
            return -1.0

    def settle(self, baseline, seconds=15):
        """Waits for the descriptors to come back to `baseline` (a closed
        connection lingers up to 10 s until its peer closes); returns the
        count at the end."""
        deadline = time.time() + seconds
        while True:
            count = self.fds()
            if count <= baseline or time.time() >= deadline:
                return count
            time.sleep(0.25)

    def serves(self):
        """Whether a normal client still gets its answer."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    reply = b""
                    while True:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        reply += chunk
            return reply.startswith(b"HTTP/1.0 200")
        except (OSError, ssl.SSLError):
            return False

    def stop(self):
        if self.alive():
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.logfile.close()


def run_fuzzer(python, module, extra, port, timeout, logdir, tag):
    # Scripts with many checks run a random sample of them: the same seed
    # for both servers makes it the same sample.
    code = (f"import random, sys; random.seed(19); sys.argv = {[module, '-h', '127.0.0.1', '-p', str(port), *extra]!r}; "
            f"from tlsfuzzer._apps.{module} import main; main()")
    env = dict(os.environ, PYTHONPATH=FUZZER)
    started = time.time()
    try:
        done = subprocess.run([python, "-c", code], cwd=FUZZER, env=env, capture_output=True, timeout=timeout)
        output = (done.stdout + done.stderr).decode(errors="replace")
        hung = False
    except subprocess.TimeoutExpired as e:
        output = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        hung = True
    with open(os.path.join(logdir, f"{module}.{tag}.log"), "w") as f:
        f.write(output)
    counts = {k: int(v) for k, v in re.findall(r"^(TOTAL|SKIP|PASS|XFAIL|FAIL|XPASS): (\d+)$", output, re.M)}
    ran = set(re.findall(r"^(.+) \.\.\.$", output, re.M))
    failed = set()
    tail = output.split("FAILED:\n", 1)
    if len(tail) == 2:
        failed = {line.strip().strip("'\"") for line in tail[1].splitlines() if line.startswith("\t")}
    return {"hung": hung, "seconds": time.time() - started, "counts": counts, "failed": sorted(failed), "ran": ran}


def fuzzer_text(result):
    if result["hung"]:
        return "HANG"
    c = result["counts"]
    if "TOTAL" not in c:
        return "no summary"
    return f"{c.get('PASS', 0)}/{c['TOTAL']} pass, {c.get('FAIL', 0) + c.get('XPASS', 0)} fail"


def run_testssl(checks, port, timeout, logdir, tag):
    out = os.path.join(logdir, f"testssl.{tag}.json")
    if os.path.exists(out):
        os.remove(out)
    argv = ["testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--jsonfile", out,
            *checks, f"127.0.0.1:{port}"]
    started = time.time()
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout)
        text = (done.stdout + done.stderr).decode(errors="replace")
        hung = False
    except subprocess.TimeoutExpired as e:
        text = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        hung = True
    with open(os.path.join(logdir, f"testssl.{tag}.log"), "w") as f:
        f.write(text)
    findings = {}
    try:
        with open(out) as f:
            for item in json.load(f):
                findings[item["id"]] = (item.get("severity", ""), item.get("finding", ""))
    except (OSError, ValueError):
        pass
    return {"hung": hung, "seconds": time.time() - started, "findings": findings}


def testssl_text(result):
    if result["hung"]:
        return "HANG"
    if not result["findings"]:
        return "no findings"
    levels = {}
    for severity, _ in result["findings"].values():
        levels[severity] = levels.get(severity, 0) + 1
    return " ".join(f"{k} {levels[k]}" for k in ("OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN") if k in levels)


def testssl_worse(ours, ref):
    """The findings where our severity is higher than the reference's."""
    worse = []
    for key, (severity, finding) in sorted(ours["findings"].items()):
        mine = SEVERITY.get(severity)
        theirs = SEVERITY.get(ref["findings"].get(key, ("", ""))[0])
        if mine is not None and theirs is not None and mine > theirs:
            worse.append(f"{key}: {severity} {finding!r} (s_server: {ref['findings'][key][0]} {ref['findings'][key][1]!r})")
    return worse


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short selection CI runs")
    parser.add_argument("--tclsh", default=os.environ.get("TCLSH", "tclsh"))
    parser.add_argument("--only", nargs="*", help="tools to run (tlsfuzzer module names, or testssl)")
    parser.add_argument("--timeout", type=float, help="seconds per tool (default 120 quick, 600 full)")
    args = parser.parse_args()
    timeout = args.timeout or (120 if args.quick else 600)
    # A TERM (timeout, CI) unwinds through the `finally` that stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("scan: terminated"))

    for tool in ("openssl", "testssl", args.tclsh):
        if shutil.which(tool) is None:
            sys.exit(f"scan: {tool} not found (tools/deps.sh installs testssl.sh)")
    if not os.path.isdir(os.path.join(FUZZER, "tlsfuzzer")):
        sys.exit(f"scan: no tlsfuzzer snapshot at {FUZZER} (set TLSFUZZER_DIR)")
    os.makedirs(WORK, exist_ok=True)
    python = venv_python()
    scratch = tempfile.mkdtemp(prefix="tcltls-scan-")
    logdir = os.path.join(WORK, "logs")
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    cert, key = make_certs(scratch)

    tools = [("testssl", None)] + [(m, extra) for m, extra in (QUICK if args.quick else FULL)]
    if args.only:
        tools = [t for t in tools if t[0] in args.only]

    env = dict(os.environ, TCLLIBPATH=os.path.join(REPO, "build"))
    version = subprocess.run([args.tclsh], input=b"puts [info patchlevel]", capture_output=True).stdout.decode().strip()
    ours = Server("ours", [args.tclsh, os.path.join(REPO, "tools", "scan_server.tcl"), cert, key], env=env, logdir=logdir)
    ref_port = free_port()
    # The reference with our defaults' protocol range (TclTLS 2.0: TLS 1.2
    # and 1.3): s_server alone also takes TLS 1.0 and 1.1 hellos, which
    # would make every "protocol_version" alert of ours a difference.
    ref = Server("s_server", ["openssl", "s_server", "-www", "-no_tls1", "-no_tls1_1", "-accept", f"127.0.0.1:{ref_port}",
                              "-cert", cert, "-key", key], port=ref_port, logdir=logdir)
    log(f"scan: our server (Tcl {version}) on port {ours.port}, openssl s_server on {ref.port}; logs in .scan/logs")
    failures = []
    rows = []
    started = time.time()
    try:
        ours.serves()
        header = f"{'tool':<52} {'ours':<22} {'s_server':<22} {'fds':<8} {'RSS MB':<12} serves"
        log(header)
        log("-" * len(header))
        for name, extra in tools:
            fds_before, rss_before = ours.fds(), ours.rss_mb()
            if name == "testssl":
                checks = TESTSSL_QUICK if args.quick else TESTSSL_FULL
                mine = run_testssl(checks, ours.port, timeout, logdir, "ours")
                theirs = run_testssl(checks, ref.port, timeout, logdir, "s_server")
                texts = testssl_text(mine), testssl_text(theirs)
                worse = testssl_worse(mine, theirs) if not mine["hung"] else []
            else:
                mine = run_fuzzer(python, name, extra, ours.port, timeout, logdir, "ours")
                theirs = run_fuzzer(python, name, extra, ref.port, timeout, logdir, "s_server")
                texts = fuzzer_text(mine), fuzzer_text(theirs)
                # Checks that failed against us and passed against s_server.
                worse = sorted(n for n in mine["failed"] if n in theirs["ran"] and n not in theirs["failed"])
            alive = ours.alive()
            fds_after = ours.settle(fds_before) if alive else -1
            serves = alive and ours.serves()
            rss_after = ours.rss_mb()
            problems = []
            if not alive:
                problems.append("our server died")
            if mine["hung"] and not theirs["hung"]:
                problems.append("hang")
            if alive and fds_after > fds_before:
                problems.append(f"descriptors {fds_before} -> {fds_after}")
            if alive and not serves:
                problems.append("no longer serves")
            if worse:
                problems.append("worse than s_server: " + "; ".join(worse[:5]) + (" ..." if len(worse) > 5 else ""))
            label = name.replace("_", "-") if name != "testssl" else "testssl " + (" ".join(TESTSSL_QUICK) if args.quick else "(all)")
            log(f"{label:<52} {texts[0]:<22} {texts[1]:<22} {fds_before}->{fds_after:<5} "
                f"{rss_before:.1f}->{rss_after:<6.1f} {'yes' if serves else 'NO'}  "
                f"{mine['seconds']:.0f}s/{theirs['seconds']:.0f}s")
            for problem in problems:
                log(f"    FAIL: {problem}")
                failures.append(f"{label}: {problem}")
            rows.append({"tool": label, "ours": texts[0], "s_server": texts[1], "fds": [fds_before, fds_after],
                         "rss_mb": [round(rss_before, 1), round(rss_after, 1)], "serves": serves, "problems": problems})
            if not alive:
                break
    finally:
        ours.stop()
        ref.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    with open(os.path.join(WORK, f"results-{version}{'-quick' if args.quick else ''}.json"), "w") as f:
        json.dump({"tcl": version, "quick": args.quick, "rows": rows, "failures": failures}, f, indent=1)
    log(f"scan: {len(rows)} tools in {time.time() - started:.0f} s under Tcl {version}; "
        f"{len(failures)} problem(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
