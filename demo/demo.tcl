# demo.tcl --
#
#	A small HTTPS round trip with the tls package, all on this machine:
#
#	1. make a throw-away CA and a server certificate for localhost
#	   (demo/gencerts.sh, openssl command line, EC P-256) in a temp dir;
#	2. serve HTTP/1.1 over tls::socket -server on 127.0.0.1, port 0;
#	3. fetch a page with Tcl's http package through
#	   http::register https <port> [list ::tls::socket -cafile $ca],
#	   so the client verifies the server against that CA and host name;
#	4. print the page and what tls::status says on both ends;
#	5. check that the same fetch fails without -cafile (verification is on).
#
#	Run:  make demo
#	or:   TCLLIBPATH=/path/to/build tclsh demo/demo.tcl
#
#	Exits 0 on success, 1 with a message on failure.  Removes its temp dir.

package require Tcl 8.6-
package require http
package require tls

namespace eval demo {
    variable here [file dirname [file normalize [info script]]]
    variable served {}		;# what the server saw, per request
    variable clientChan {}	;# the http package's channel, once opened
    variable clientStatus {}	;# tls::status of it, seen mid-request
}

# --- server ---------------------------------------------------------------

# Called by tls::socket -server for each connection.  The handshake runs
# inside the first read, driven by the event loop like any socket I/O.
proc demo::accept {chan addr port} {
    fconfigure $chan -blocking 0 -translation {auto crlf} -buffering full
    fileevent $chan readable [list demo::readRequest $chan [dict create]]
}

# Reads the request line and headers up to the blank line, then answers.
proc demo::readRequest {chan request} {
    while 1 {
	if {[catch {gets $chan line} n]} {
	    # A failed handshake or a reset lands here.
	    dict lappend ::demo::served errors $n
	    catch {close $chan}
	    return
	}
	if {$n < 0} {
	    if {[eof $chan]} {
		catch {close $chan}
	    } else {
		# Not a whole line yet: wait for more, keep what we have.
		fileevent $chan readable [list demo::readRequest $chan $request]
	    }
	    return
	}
	if {![dict exists $request line]} {
	    dict set request line $line
	} elseif {$line ne ""} {
	    dict lappend request headers $line
	} else {
	    fileevent $chan readable {}
	    respond $chan $request
	    return
	}
    }
}

proc demo::respond {chan request} {
    variable served
    variable clientChan
    variable clientStatus
    # The client sent its request, so its handshake is complete as well.
    if {$clientChan in [chan names]} {
	set clientStatus [tls::status $clientChan]
    }
    lassign [dict get $request line] method target
    set tls [tls::status $chan]
    set tlsLocal [tls::status -local $chan]
    dict lappend served requests \
	[dict create line [dict get $request line] status $tls local $tlsLocal \
	    peer [fconfigure $chan -peername]]

    if {$method ne "GET"} {
	set code "405 Method Not Allowed"
	set body "only GET here\n"
    } else {
	set code "200 OK"
	set body "Hello from tls::socket on 127.0.0.1.\n"
	append body "You asked for $target over [dict get $tls protocol]" \
	    " with [dict get $tls cipher].\n"
    }
    set body [encoding convertto utf-8 $body]
    puts $chan "HTTP/1.1 $code"
    puts $chan "Content-Type: text/plain; charset=utf-8"
    puts $chan "Content-Length: [string length $body]"
    puts $chan "Connection: close"
    puts $chan ""
    fconfigure $chan -translation binary
    puts -nonewline $chan $body
    # close on a non-blocking channel flushes in the background; the TLS
    # layer sends close_notify after the last byte.
    close $chan
}

# --- client ---------------------------------------------------------------

# Runs the socket command the http package asked for (here ::tls::socket
# -cafile ...) and remembers the channel, so the server side can read the
# client's view of the same connection while the request is in flight.
proc demo::capture {args} {
    variable clientChan
    set clientChan [uplevel #0 $args]
}

# Fetches url; returns the body or raises an error with a message.
proc demo::fetch {url args} {
    set token [http::geturl $url -timeout 10000 {*}$args]
    try {
	switch -- [http::status $token] {
	    ok {}
	    timeout { error "timeout fetching $url" }
	    default { error "fetching $url: [http::error $token]" }
	}
	if {[http::ncode $token] != 200} {
	    error "fetching $url: HTTP [http::code $token]"
	}
	return [http::data $token]
    } finally {
	http::cleanup $token
    }
}

# Connects without -cafile and sends a line; the first read reports how the
# handshake ended.  Non-blocking, since the server runs in this process too.
proc demo::refused {host port} {
    variable outcome
    set chan [tls::socket -async $host $port]
    fconfigure $chan -blocking 0 -buffering line
    set id [after 10000 {set ::demo::outcome [dict create outcome timeout]}]
    # Write once connected; the handshake then fails in puts or in gets.
    fileevent $chan writable [list apply {{chan} {
	fileevent $chan writable {}
	if {[catch {puts $chan "GET / HTTP/1.0"} msg opts]} {
	    demo::refusedWith $msg $opts
	    return
	}
	fileevent $chan readable [list apply {{chan} {
	    if {[catch {gets $chan line} msg opts]} {
		demo::refusedWith $msg $opts
	    } elseif {$msg >= 0 || [eof $chan]} {
		set ::demo::outcome [dict create outcome accepted]
	    }
	}} $chan]
    }} $chan]
    vwait ::demo::outcome
    after cancel $id
    catch {close $chan}
    # Give the server's side of the handshake a moment to finish too.
    after 100 {set demo::pause 1}
    vwait demo::pause
    return $outcome
}

proc demo::refusedWith {msg opts} {
    set ::demo::outcome [dict create outcome error message $msg \
	errorcode [dict get $opts -errorcode]]
}

# --- printing -------------------------------------------------------------

proc demo::show {title dict keys} {
    puts "  $title"
    foreach key $keys {
	if {[dict exists $dict $key]} {
	    set value [dict get $dict $key]
	    if {$value eq ""} {set value "(none)"}
	} else {
	    set value "(not reported)"
	}
	puts [format "    %-22s %s" $key $value]
    }
}

# --- main -----------------------------------------------------------------

proc demo::main {} {
    variable here
    variable served
    variable clientStatus

    puts "tls package [package present tls], [tls::version]"

    set tmp [file join [expr {[info exists ::env(TMPDIR)] ? $::env(TMPDIR) : "/tmp"}] \
	tls-demo-[pid]]
    set server {}
    try {
	exec sh [file join $here gencerts.sh] $tmp
	set ca [file join $tmp ca.pem]
	puts "certificates: CA and server (CN=localhost, SAN DNS:localhost,\
		IP:127.0.0.1) in $tmp"

	set server [tls::socket -server demo::accept \
	    -certfile [file join $tmp server.pem] \
	    -keyfile [file join $tmp server.key] \
	    -myaddr 127.0.0.1 0]
	set port [lindex [fconfigure $server -sockname] 2]
	puts "server: listening on 127.0.0.1:$port"

	http::register https $port [list demo::capture ::tls::socket -cafile $ca]
	set url https://localhost:$port/hello.txt
	puts "client: GET $url (verifying against the demo CA)"
	set body [fetch $url]

	puts ""
	puts "--- page body ([string length $body] bytes) ---"
	puts -nonewline [encoding convertfrom utf-8 $body]
	puts "--- end of body ---"
	puts ""

	if {![dict exists $served requests]} {
	    error "the server saw no request"
	}
	set req [lindex [dict get $served requests] 0]
	puts "server side, connection from [lindex [dict get $req peer] 0],\
		request \"[dict get $req line]\":"
	show "tls::status" [dict get $req status] \
	    {protocol cipher sbits peername verifyResult}
	show "tls::status -local (the certificate the server presented)" \
	    [dict get $req local] {subject issuer subjectAltName notAfter}
	puts ""
	if {$clientStatus eq ""} {
	    error "the client's channel was not captured"
	}
	puts "client side, the http package's channel:"
	show "tls::status" $clientStatus {protocol cipher sbits peername \
	    subject issuer subjectAltName notAfter sha256_hash verifyResult}

	# Without -cafile the client checks the platform trust store, which
	# does not know the demo CA: the handshake must fail.
	puts ""
	puts "client: tls::socket localhost $port without -cafile\
		(must be refused)"
	set result [refused localhost $port]
	if {[dict get $result outcome] ne "error"} {
	    error "outcome [dict get $result outcome] without -cafile:\
		    the server's certificate was not verified"
	}
	puts "  refused as expected: [dict get $result message]"
	puts "  -errorcode [dict get $result errorcode]"
	if {[dict exists $served errors]} {
	    puts "  the server saw: [join [dict get $served errors] {; }]"
	}
    } finally {
	catch {http::unregister https}
	if {$server ne ""} {close $server}
	file delete -force $tmp
    }
}

if {[catch {demo::main} err]} {
    puts stderr "demo failed: $err"
    exit 1
}
puts ""
puts "demo OK"
exit 0
