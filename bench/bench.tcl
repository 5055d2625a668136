# bench.tcl --
#
#	Figures for the tls package next to plain Tcl sockets, from the same
#	Tcl scripts.  Prints numbers, asserts nothing about them.  See
#	bench/README.md for what each figure means.
#
#	Run:  make bench
#	or:   TCLLIBPATH=/path/to/build tclsh bench/bench.tcl
#
#	Environment:
#	  TLS_OURS=dir      our package dir (default: build/tls beside bench/,
#	                    else whatever `package require tls` finds)
#	  TLS_COMPARE=dir   another tls package dir (with its pkgIndex.tcl) to
#	                    measure too, e.g. an installed TclTLS
#	  BENCH_MB=n        MiB per bulk transfer (default 256)
#	  BENCH_RUNS=n      bulk transfers per figure, the median is shown
#	                    (default 5)
#	  BENCH_HANDSHAKES=n, BENCH_SECONDS=s
#	                    sequential connections per handshake run, and its
#	                    duration (default at most 10000 connections, 3 s;
#	                    openssl s_time runs for s seconds)
#	  BENCH_CONNS=n     idle connections for the memory figure (default
#	                    1000; Tcl 8.6's select() notifier caps fds at 1024)
#	  BENCH_ECHO_CONNS="n ..."
#	                    connection counts for the many-small-messages echo
#	                    figure (default "100 1000 5000"; counts past the
#	                    select() limit are n/a under Tcl 8.6)
#	  BENCH_ECHO_SECONDS=s
#	                    measuring window per echo figure (default 5)
#	  BENCH_ECHO_CLIENTS=n
#	                    client processes sharing the echo connections
#	                    (default 1)
#	  BENCH_ECHO_BYTES=n
#	                    bytes per echoed line, newline included (default 48)
#
#	Each measurement runs in child processes of this same script
#	(`-child ROLE ...`): a server and a client, each loading only the package
#	under test from its own directory, so packages never clash and sender
#	and receiver run on different cores.

package require Tcl 8.6-

namespace eval bench {
    variable script [file normalize [info script]]
    variable here [file dirname $script]
    variable MiB 1048576
    variable timeoutMs 120000	;# per wait in the children
}

proc bench::env {name default} {
    if {[info exists ::env($name)] && $::env($name) ne ""} {
	return $::env($name)
    }
    return $default
}

proc bench::median {list} {
    set sorted [lsort -integer $list]
    set n [llength $sorted]
    if {$n == 0} {return 0}
    if {$n % 2} {return [lindex $sorted [expr {$n / 2}]]}
    return [expr {([lindex $sorted [expr {$n/2 - 1}]] + [lindex $sorted [expr {$n/2}]]) / 2}]
}

# vwait on a variable with a time limit; the variable ends up holding
# "timeout" if nothing set it in time.
proc bench::wait {varName} {
    variable timeoutMs
    upvar #0 $varName var
    unset -nocomplain var
    set id [after $timeoutMs [list set $varName timeout]]
    vwait $varName
    after cancel $id
    return $var
}

# ==========================================================================
# Child side: the package under test, and the scripts that move data.
# ==========================================================================

# CPU time (user + system) a process has used so far, in clock ticks,
# from /proc/PID/stat (fields 14 and 15).  The parent converts ticks to
# seconds with `getconf CLK_TCK`.
proc bench::ticks {pid} {
    set f [open /proc/$pid/stat]
    set stat [read $f]
    close $f
    # The command name (field 2) may hold spaces: count from its ")".
    set fields [string range $stat [string last ")" $stat]+2 end]
    return [expr {[lindex $fields 11] + [lindex $fields 12]}]
}

# Ticks of the server child, or "" if the parent gave no pid.
proc bench::serverTicks {pid} {
    if {$pid eq ""} {return ""}
    return [ticks $pid]
}

# Defines bench::connect, bench::listen and bench::handshake for the
# implementation under test.  The TLS and plain variants differ only there.
# bench::connect takes extra tls::socket options after host and port.
# bench::noResume holds the client options that make a connection offer no
# session (a full handshake).
proc bench::loadImpl {impl pkgdir certdir} {
    variable noResume {}
    if {$impl eq "plain"} {
	proc ::bench::connect {host port args} {
	    socket $host $port
	}
	proc ::bench::listen {command} {
	    socket -server $command -myaddr 127.0.0.1 0
	}
	proc ::bench::handshake {chan} {}
	return
    }
    if {$pkgdir ne ""} {
	# Register exactly this package; package require then takes it
	# without scanning auto_path.
	apply {{dir} {source [file join $dir pkgIndex.tcl]}} $pkgdir
    }
    package require tls
    set ca [file join $certdir ca.pem]
    set cert [file join $certdir server.pem]
    set key [file join $certdir server.key]
    proc ::bench::connect {host port args} "tls::socket [list \
	-cafile $ca -require 1 -servername localhost] {*}\$args \$host \$port"
    # Our package offers the client's last session for the same server
    # automatically, or the one named by -session_id: an id it never saw
    # offers none.  TclTLS 1.x keeps no client sessions (a new SSL_CTX per
    # socket), so it needs nothing.
    if {[package vsatisfies [package present tls] 2-]} {
	set noResume {-session_id no-such-session}
    }
    proc ::bench::listen {command} "tls::socket -server \$command [list \
	-certfile $cert -keyfile $key \
	-tls1 0 -tls1.1 0 -tls1.2 0 -tls1.3 1 -myaddr 127.0.0.1] 0"
    proc ::bench::handshake {chan} {
	# Blocking: returns 1 once done.  Bounded in case it never does.
	for {set i 0} {$i < 1000} {incr i} {
	    if {[tls::handshake $chan]} {return}
	}
	error "tls::handshake did not complete"
    }
}

# --- bulk transfer -------------------------------------------------------
#
# Modes, the same on both ends:
#   block   blocking fcopy -size, /dev/zero -> socket -> /dev/null
#   copyev  non-blocking fcopy -size -command, same files
#   fileev  non-blocking: the receiver reads 1 MiB per readable event, the
#           sender writes 1 MiB per writable event

proc bench::bulkConfigure {chan} {
    variable MiB
    fconfigure $chan -translation binary -buffersize $MiB -buffering full
}

proc bench::openDev {name access} {
    variable MiB
    set chan [open $name $access]
    fconfigure $chan -buffersize $MiB
    return $chan
}

proc bench::send {chan mode bytes} {
    variable MiB
    bulkConfigure $chan
    switch -- $mode {
	block {
	    fconfigure $chan -blocking 1
	    set zero [openDev /dev/zero rb]
	    set sent [fcopy $zero $chan -size $bytes]
	    close $zero
	}
	copyev {
	    fconfigure $chan -blocking 0
	    set zero [openDev /dev/zero rb]
	    fcopy $zero $chan -size $bytes -command {set ::bench::copied}
	    set result [wait ::bench::copied]
	    close $zero
	    lassign $result sent err
	    if {$sent eq "timeout" || $err ne ""} {error "fcopy: $result"}
	}
	fileev {
	    variable block [binary format x$MiB]
	    variable sent 0
	    fconfigure $chan -blocking 0
	    fileevent $chan writable [list bench::writeChunk $chan $bytes]
	    set result [wait ::bench::sendDone]
	    fileevent $chan writable {}
	    if {$result ne "ok"} {error "send: $result"}
	}
    }
    fconfigure $chan -blocking 1
    flush $chan
    if {$sent != $bytes} {error "sent $sent of $bytes bytes"}
}

proc bench::writeChunk {chan bytes} {
    variable block
    variable sent
    variable MiB
    # Keep at most about one block queued in Tcl's buffers.
    if {[chan pending output $chan] >= $MiB} return
    set n [expr {min($bytes - $sent, $MiB)}]
    set data [expr {$n == $MiB ? $block : [string range $block 0 $n-1]}]
    if {[catch {puts -nonewline $chan $data} err]} {
	set ::bench::sendDone "error: $err"
	return
    }
    incr sent $n
    if {$sent >= $bytes} {set ::bench::sendDone ok}
}

proc bench::receive {chan mode bytes} {
    variable MiB
    bulkConfigure $chan
    switch -- $mode {
	block {
	    fconfigure $chan -blocking 1
	    set null [openDev /dev/null wb]
	    set got [fcopy $chan $null -size $bytes]
	    close $null
	}
	copyev {
	    fconfigure $chan -blocking 0
	    set null [openDev /dev/null wb]
	    fcopy $chan $null -size $bytes -command {set ::bench::copied}
	    set result [wait ::bench::copied]
	    close $null
	    lassign $result got err
	    if {$got eq "timeout" || $err ne ""} {error "fcopy: $result"}
	}
	fileev {
	    variable got 0
	    fconfigure $chan -blocking 0
	    fileevent $chan readable [list bench::readChunk $chan $bytes]
	    set result [wait ::bench::receiveDone]
	    fileevent $chan readable {}
	    if {$result ne "ok"} {error "receive: $result"}
	}
    }
    fconfigure $chan -blocking 1
    if {$got != $bytes} {error "received $got of $bytes bytes"}
}

proc bench::readChunk {chan bytes} {
    variable got
    variable MiB
    if {[catch {read $chan $MiB} data]} {
	set ::bench::receiveDone "error: $data"
	return
    }
    incr got [string length $data]
    if {$got >= $bytes} {
	set ::bench::receiveDone ok
    } elseif {[eof $chan]} {
	set ::bench::receiveDone "eof after $got bytes"
    }
}

# --- server --------------------------------------------------------------
#
# One server serves every test.  The client's first line says what it wants:
#   UP mode bytes     the client sends bytes; answer "DONE n" when all came
#   DOWN mode bytes   send bytes to the client, then close
#   GET ...           an HTTP/1.0 request (openssl s_time -www): answer, close
#   ONCE ...          echo this line, then close
#   anything else     echo every line back until EOF
#
# Where the server closes first (GET, ONCE), the TIME_WAIT state stays on the
# server's side.  Clients that open thousands of connections in a row would
# otherwise leave thousands of their ephemeral ports in TIME_WAIT, and later
# connect() calls on this machine get slow (milliseconds of kernel time each,
# seen in the client's CPU) until those expire after a minute.

proc bench::serve {} {
    set listener [listen bench::accept]
    puts "PORT [lindex [fconfigure $listener -sockname] 2]"
    flush stdout
    # The parent closes our stdin to stop us.
    fileevent stdin readable {
	if {[gets stdin line] < 0 && [eof stdin]} {exit 0}
    }
    vwait forever
}

proc bench::accept {chan addr port} {
    fconfigure $chan -translation binary -blocking 0 -buffering line
    fileevent $chan readable [list bench::request $chan]
}

proc bench::request {chan} {
    if {[catch {gets $chan line} n]} {
	puts stderr "server: $n"
	catch {close $chan}
	return
    }
    if {$n < 0} {
	if {[eof $chan]} {close $chan}
	return
    }
    fileevent $chan readable {}
    lassign $line verb mode bytes
    if {$verb eq "GET"} {
	# openssl s_time -www: read the request head, answer, close.
	fileevent $chan readable [list bench::http $chan]
	bench::http $chan
	return
    }
    if {$verb eq "ONCE"} {
	catch {puts $chan $line}
	catch {close $chan}
	return
    }
    if {$verb ni {UP DOWN}} {
	puts $chan $line
	fileevent $chan readable [list bench::echo $chan]
	return
    }
    if {[catch {
	fconfigure $chan -blocking 1
	puts $chan READY
	if {$verb eq "UP"} {
	    receive $chan $mode $bytes
	    puts $chan "DONE $bytes"
	    flush $chan
	    # Close once the client has read DONE and closed its end.
	    fconfigure $chan -blocking 0
	    fileevent $chan readable [list bench::drain $chan]
	} else {
	    send $chan $mode $bytes
	    close $chan
	}
    } err]} {
	puts stderr "server: $verb $mode: $err"
	catch {close $chan}
    }
}

proc bench::echo {chan} {
    while 1 {
	if {[catch {gets $chan line} n]} {
	    puts stderr "server: $n"
	    catch {close $chan}
	    return
	}
	if {$n < 0} break
	puts $chan $line
    }
    if {[eof $chan]} {close $chan}
}

# A minimal HTTP/1.0 answer, as `openssl s_server -WWW` gives for a small
# file, once the request head has ended; then close.
proc bench::http {chan} {
    while 1 {
	if {[catch {gets $chan line} n]} {
	    catch {close $chan}
	    return
	}
	if {$n < 0} {
	    if {[eof $chan]} {catch {close $chan}}
	    return
	}
	if {[string trim $line] eq ""} break
    }
    fileevent $chan readable {}
    catch {
	fconfigure $chan -blocking 1 -buffering full
	puts -nonewline $chan "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nok\n"
	flush $chan
    }
    catch {close $chan}
}

proc bench::drain {chan} {
    if {[catch {read $chan}] || [eof $chan]} {
	catch {close $chan}
    }
}

# --- clients -------------------------------------------------------------

proc bench::result {args} {
    puts "RESULT $args"
    flush stdout
}

# Moves bytes one way and reports MB/s (bytes per microsecond), timed from
# the server's READY (handshake done) to the last byte delivered, and the
# CPU ticks this client and the server used over the same span.
proc bench::bulkClient {port direction mode bytes serverpid} {
    set chan [connect 127.0.0.1 $port]
    bulkConfigure $chan
    puts $chan "$direction $mode $bytes"
    flush $chan
    if {[gets $chan line] < 0 || $line ne "READY"} {
	error "expected READY, got \"$line\""
    }
    set c0 [ticks [pid]]
    set s0 [serverTicks $serverpid]
    set t0 [clock microseconds]
    if {$direction eq "UP"} {
	send $chan $mode $bytes
	if {[gets $chan line] < 0 || $line ne "DONE $bytes"} {
	    error "expected DONE, got \"$line\""
	}
    } else {
	receive $chan $mode $bytes
    }
    set t1 [clock microseconds]
    set c1 [ticks [pid]]
    set s1 [serverTicks $serverpid]
    set cipher {}
    catch {set cipher [dict get [tls::status $chan] cipher]}
    close $chan
    result mbps [expr {double($bytes) / ($t1 - $t0)}] \
	cticks [expr {$c1 - $c0}] \
	sticks [expr {$serverpid eq "" ? "" : $s1 - $s0}] cipher $cipher
}

# Opens one connection, completes the handshake and echoes a line on it.
# Returns {channel handshake-µs request/response-µs}.  opts: extra client
# options (bench::noResume for a full handshake).  verb ONCE: the server
# closes after the echo (see bench::request), and this waits for its EOF;
# the caller closes the channel either way.
proc bench::echoConnection {port i {opts {}} {verb ping}} {
    set t0 [clock microseconds]
    set chan [connect 127.0.0.1 $port {*}$opts]
    fconfigure $chan -translation binary -buffering line
    handshake $chan
    set t1 [clock microseconds]
    puts $chan "$verb $i"
    if {[gets $chan line] < 0 || $line ne "$verb $i"} {
	error "echo: expected \"$verb $i\", got \"$line\""
    }
    set t2 [clock microseconds]
    # TclTLS 1.7 reports the server's close as an error ("software caused
    # connection abort") rather than EOF: either ends the connection.
    if {$verb eq "ONCE" && ![catch {gets $chan line} n]
	    && ($n >= 0 || ![eof $chan])} {
	error "echo: expected EOF after ONCE, got \"$line\""
    }
    return [list $chan [expr {$t1 - $t0}] [expr {$t2 - $t1}]]
}

# Sequential connections: connect, handshake, one line echoed, close.
# mode full: every connection offers no session; resumed: the package's
# default (ours offers the last session for this server).  Reports how many
# connections did resume, when the package can tell (tls::connection), and
# the CPU ticks of this client and of the server over the loop.
proc bench::handshakeClient {port count seconds impl mode serverpid} {
    variable noResume
    set opts [expr {$mode eq "full" ? $noResume : {}}]
    set canTell [expr {$impl ne "plain" && [llength [::info commands ::tls::connection]]}]
    # One warm-up connection first: loading the CA file and building the
    # context happen once per process and are not what we time.  It also
    # brings the session that the first resumed connection offers.
    lassign [echoConnection $port 0 $opts ONCE] chan
    set negotiated {}
    if {$impl ne "plain"} {
	set status [tls::status $chan]
	foreach key {protocol cipher} {
	    if {[dict exists $status $key]} {
		lappend negotiated [dict get $status $key]
	    }
	}
    }
    close $chan

    set handshakes {}
    set firstRequest {}
    set reused 0
    set c0 [ticks [pid]]
    set s0 [serverTicks $serverpid]
    set start [clock microseconds]
    set deadline [expr {$start + $seconds * 1000000}]
    for {set i 1} {$i <= $count && [clock microseconds] < $deadline} {incr i} {
	lassign [echoConnection $port $i $opts ONCE] chan hs rr
	if {$canTell} {
	    incr reused [dict get [tls::connection $chan] session_reused]
	}
	close $chan
	lappend handshakes $hs
	lappend firstRequest $rr
    }
    set elapsed [expr {[clock microseconds] - $start}]
    set c1 [ticks [pid]]
    set s1 [serverTicks $serverpid]
    set n [llength $handshakes]
    result rate [expr {$n * 1e6 / $elapsed}] n $n \
	handshake [median $handshakes] request [median $firstRequest] \
	negotiated $negotiated reused [expr {$canTell ? $reused : "?"}] \
	cticks [expr {$c1 - $c0}] \
	sticks [expr {$serverpid eq "" ? "" : $s1 - $s0}]
}

# Many small messages: opens count connections (each with a handshake and
# one echoed line), says CONNECTED, waits for GO on stdin, then keeps one
# line of `bytes` bytes in flight on every connection (send, wait for its
# echo, send again) for a warm-up of 0.5 s and then `seconds` seconds,
# counting the echoes that came back in that window.  Reports the count,
# the window's length and the CPU ticks of this client and the server.
proc bench::echoClient {port count seconds bytes serverpid} {
    variable echoLine [string repeat x [expr {max($bytes - 1, 1)}]]
    variable echoCount 0
    variable echoSending 1
    set chans {}
    for {set i 1} {$i <= $count} {incr i} {
	lappend chans [lindex [echoConnection $port $i] 0]
    }
    puts "CONNECTED $count"
    flush stdout
    gets stdin
    foreach chan $chans {
	fconfigure $chan -blocking 0 -buffering line
	fileevent $chan readable [list bench::echoReply $chan]
	puts $chan $echoLine
    }
    after 500 {set ::bench::echoPhase window}
    if {[wait ::bench::echoPhase] ne "window"} {
	error "echo: $::bench::echoPhase"
    }
    set n0 $echoCount
    set c0 [ticks [pid]]
    set s0 [serverTicks $serverpid]
    set t0 [clock microseconds]
    after [expr {int($seconds * 1000)}] {set ::bench::echoPhase end}
    if {[wait ::bench::echoPhase] ne "end"} {
	error "echo: $::bench::echoPhase"
    }
    set t1 [clock microseconds]
    set c1 [ticks [pid]]
    set s1 [serverTicks $serverpid]
    set n1 $echoCount
    set echoSending 0
    result count [expr {$n1 - $n0}] elapsed [expr {$t1 - $t0}] \
	cticks [expr {$c1 - $c0}] \
	sticks [expr {$serverpid eq "" ? "" : $s1 - $s0}]
    gets stdin
}

proc bench::echoReply {chan} {
    variable echoLine
    variable echoCount
    variable echoSending
    while 1 {
	if {[catch {gets $chan line} n]} {
	    set ::bench::echoPhase "error: $n"
	    catch {close $chan}
	    return
	}
	if {$n < 0} break
	incr echoCount
	if {$echoSending && [catch {puts $chan $echoLine} err]} {
	    set ::bench::echoPhase "error: $err"
	    catch {close $chan}
	    return
	}
    }
    if {[eof $chan]} {
	if {$echoSending} {set ::bench::echoPhase "error: EOF from the server"}
	close $chan
    }
}

# Opens count idle connections and holds them while the parent reads the
# server's RSS.  Talks to the parent on stdin/stdout: WARM, GO, READY, quit.
proc bench::idleClient {port count} {
    set chans [list [lindex [echoConnection $port 0] 0]]
    puts WARM
    flush stdout
    gets stdin
    for {set i 1} {$i <= $count} {incr i} {
	lappend chans [lindex [echoConnection $port $i] 0]
    }
    puts "READY $count"
    flush stdout
    gets stdin
    foreach chan $chans {catch {close $chan}}
}

proc bench::describe {impl} {
    if {$impl eq "plain"} {
	result version [::info patchlevel] file {} openssl {}
	return
    }
    set file {}
    foreach pair [::info loaded] {
	if {[lindex $pair 1] eq "Tls"} {set file [lindex $pair 0]}
    }
    result version [package present tls] file $file openssl [tls::version] \
	resumes [llength [::info commands ::tls::connection]]
}

proc bench::child {argv} {
    set role [lindex $argv 0]
    set opts [lrange $argv 1 end]
    loadImpl [dict get $opts impl] [dict get $opts pkgdir] [dict get $opts certdir]
    switch -- $role {
	info { describe [dict get $opts impl] }
	server { serve }
	bulk {
	    bulkClient [dict get $opts port] [dict get $opts direction] \
		[dict get $opts mode] [dict get $opts bytes] \
		[dict get $opts serverpid]
	}
	handshakes {
	    handshakeClient [dict get $opts port] [dict get $opts count] \
		[dict get $opts seconds] [dict get $opts impl] \
		[dict get $opts mode] [dict get $opts serverpid]
	}
	echo {
	    echoClient [dict get $opts port] [dict get $opts count] \
		[dict get $opts seconds] [dict get $opts bytes] \
		[dict get $opts serverpid]
	}
	idle { idleClient [dict get $opts port] [dict get $opts count] }
	default { error "unknown role $role" }
    }
}

# ==========================================================================
# Parent side: start children, collect figures, print the table.
# ==========================================================================

namespace eval bench {
    variable impls {}		;# names in column order
    variable implOpts		;# name -> dict impl pkgdir
    variable figures		;# name,metric -> value or error
    variable errors {}		;# messages, printed at the end
    variable notes {}		;# remarks printed under the table
    variable tmp
    variable childSeq 0
}

# Starts `tclsh bench.tcl -child role ...`; returns {chan pid errfile}.
# fds: file descriptors the child needs; raises the soft limit if needed.
proc bench::spawn {role name opts {fds 0}} {
    variable script
    variable implOpts
    variable tmp
    variable childSeq
    variable fdLimit
    set errFile [file join $tmp child-[incr childSeq].err]
    set cmd [list [::info nameofexecutable] $script -child $role \
	{*}[dict merge $implOpts($name) $opts]]
    if {![::info exists fdLimit]} {
	set fdLimit [exec sh -c {ulimit -n}]
    }
    if {$fdLimit ne "unlimited" && $fds > $fdLimit} {
	# exec keeps the pid, so /proc/PID is still the tclsh.
	set cmd [list sh -c "ulimit -n $fds && exec \"\$@\"" sh {*}$cmd]
    }
    set chan [open |[concat $cmd [list 2> $errFile]] r+]
    fconfigure $chan -buffering line -blocking 0
    return [list $chan [lindex [pid $chan] 0] $errFile]
}

# Next line from a child, waiting at most `seconds`.
proc bench::expect {child seconds} {
    lassign $child chan pid errFile
    set deadline [expr {[clock milliseconds] + $seconds * 1000}]
    while 1 {
	if {[gets $chan line] >= 0} {return $line}
	if {[eof $chan]} {
	    error "child exited: [childErrors $child]"
	}
	set left [expr {$deadline - [clock milliseconds]}]
	if {$left <= 0} {
	    error "no answer from child within $seconds s: [childErrors $child]"
	}
	set id [after $left {set ::bench::readable timeout}]
	fileevent $chan readable {set ::bench::readable 1}
	vwait ::bench::readable
	after cancel $id
	fileevent $chan readable {}
    }
}

proc bench::childErrors {child} {
    set errFile [lindex $child 2]
    set text ""
    catch {
	set f [open $errFile]
	set text [string trim [read $f]]
	close $f
    }
    set lines [split $text \n]
    if {[llength $lines] > 3} {set lines [lrange $lines 0 2]}
    return [join $lines " | "]
}

# Closes the child's stdin, gives it a few seconds to exit, then kills it.
proc bench::stop {child} {
    lassign $child chan pid
    catch {chan close $chan write}
    set deadline [expr {[clock milliseconds] + 5000}]
    while {![eof $chan] && [clock milliseconds] < $deadline} {
	if {[gets $chan line] < 0 && ![eof $chan]} {after 20}
    }
    if {![eof $chan]} {catch {exec kill -9 $pid}}
    fconfigure $chan -blocking 1
    catch {close $chan}
}

proc bench::result? {line} {
    if {[lindex $line 0] ne "RESULT"} {
	error "unexpected output from child: $line"
    }
    return [lrange $line 1 end]
}

# Runs a server child and a client child; returns the client's RESULT dict.
# serverOpts: options for the server child (e.g. another certdir).  The
# client gets the server's pid, to read its CPU time.
proc bench::pair {name role opts seconds {serverOpts {}}} {
    set server [spawn server $name $serverOpts]
    set client {}
    try {
	set port [lindex [expect $server 30] 1]
	set client [spawn $role $name [dict merge $opts [list port $port \
	    serverpid [lindex $server 1]]]]
	return [result? [expect $client $seconds]]
    } finally {
	if {$client ne ""} {stop $client}
	stop $server
    }
}

proc bench::rss {pid} {
    set f [open /proc/$pid/status]
    set text [read $f]
    close $f
    if {![regexp {VmRSS:\s+(\d+)\s+kB} $text -> kb]} {
	error "no VmRSS for $pid"
    }
    return $kb
}

proc bench::idle {name count} {
    set fds [expr {$count + 64}]
    set server [spawn server $name {} $fds]
    set client {}
    try {
	set port [lindex [expect $server 30] 1]
	set client [spawn idle $name [list port $port count $count] $fds]
	if {[set line [expect $client 60]] ne "WARM"} {
	    error "expected WARM, got $line"
	}
	after 300
	set before [rss [lindex $server 1]]
	set cbefore [rss [lindex $client 1]]
	puts [lindex $client 0] GO
	# TclTLS 1.7 spends tens of ms of CPU per client connection.
	if {[lindex [set line [expect $client 900]] 0] ne "READY"} {
	    error "expected READY, got $line"
	}
	after 300
	set rssAfter [rss [lindex $server 1]]
	set crssAfter [rss [lindex $client 1]]
	return [list perConn [expr {($rssAfter - $before) / double($count)}] \
	    before $before after $rssAfter \
	    clientPerConn [expr {($crssAfter - $cbefore) / double($count)}] \
	    clientBefore $cbefore clientAfter $crssAfter]
    } finally {
	# The server first, so that TIME_WAIT stays on its side.
	stop $server
	if {$client ne ""} {stop $client}
    }
}

# Many small messages: one server child, `clients` client children sharing
# `count` connections.  Returns the echoes per second summed over the
# clients, and CPU seconds of the server and of the clients per message.
proc bench::echoTest {name count seconds clients bytes} {
    variable clkTck
    set server [spawn server $name {} [expr {$count + 64}]]
    set children {}
    try {
	set port [lindex [expect $server 30] 1]
	set clients [expr {max(1, min($clients, $count))}]
	for {set i 0} {$i < $clients} {incr i} {
	    # Connections split evenly; only the first client reads the
	    # server's CPU time (all windows start together, on GO).
	    set n [expr {($count * ($i + 1)) / $clients - ($count * $i) / $clients}]
	    set serverpid [expr {$i == 0 ? [lindex $server 1] : ""}]
	    lappend children [spawn echo $name [list port $port count $n \
		seconds $seconds bytes $bytes serverpid $serverpid] [expr {$n + 64}]]
	}
	foreach child $children {
	    if {[lindex [set line [expect $child 900]] 0] ne "CONNECTED"} {
		error "expected CONNECTED, got $line"
	    }
	}
	foreach child $children {puts [lindex $child 0] GO}
	set rate 0.0
	set messages 0
	set cticks 0
	foreach child $children {
	    set res [result? [expect $child [expr {$seconds + 60}]]]
	    set rate [expr {$rate + [dict get $res count] * 1e6 / [dict get $res elapsed]}]
	    incr messages [dict get $res count]
	    incr cticks [dict get $res cticks]
	    if {[dict get $res sticks] ne ""} {
		set sticks [dict get $res sticks]
		set window [expr {[dict get $res elapsed] / 1e6}]
	    }
	}
	set messages [expr {max($messages, 1)}]
	return [list rate $rate \
	    scpu [expr {$sticks * 1e6 / $clkTck / $messages}] \
	    ccpu [expr {$cticks * 1e6 / $clkTck / $messages}] \
	    sbusy [expr {100.0 * $sticks / $clkTck / $window}] \
	    cbusy [expr {100.0 * $cticks / $clkTck / $window}]]
    } finally {
	# The server first, so that TIME_WAIT stays on its side.
	stop $server
	foreach child $children {stop $child}
    }
}

# --- openssl s_time and s_server, the reference --------------------------

# Runs `openssl s_time -new|-reuse` for `seconds` against 127.0.0.1:port,
# fetching /www.txt each time (so that TLS 1.3 session tickets are read and
# -reuse can resume).  serverpid: the server, to read its CPU time.  The CPU
# time of s_time itself comes from its shell's cutime + cstime after it has
# been waited for.  Returns the rate (connections / wall time), the count,
# how many s_time marked as reused ('r'), and CPU seconds per connection.
proc bench::stime {port certdir mode seconds serverpid} {
    variable clkTck
    set s0 [ticks $serverpid]
    set t0 [clock microseconds]
    set out [exec sh -c {
	timeout "$1" openssl s_time -connect "127.0.0.1:$2" "-$3" -time "$4" \
	    -www /www.txt -CAfile "$5" -verify 1 2>&1
	cat /proc/$$/stat
    } sh [expr {$seconds + 60}] $port $mode $seconds [file join $certdir ca.pem]]
    set t1 [clock microseconds]
    set s1 [ticks $serverpid]
    if {![regexp {(\d+) connections in [\d.]+s;} $out -> n] || $n == 0} {
	set lines [split [string trim $out] \n]
	error "s_time $mode: [join [lrange $lines 0 3] { | }]"
    }
    set marks [join [regexp -all -inline -line {^[*r]+$} $out] ""]
    set stat [lindex [split [string trim $out] \n] end]
    set fields [string range $stat [string last ")" $stat]+2 end]
    set cticks [expr {[lindex $fields 13] + [lindex $fields 14]}]
    return [list rate [expr {$n * 1e6 / ($t1 - $t0)}] n $n \
	reused [regexp -all {r} $marks] \
	scpu [expr {($s1 - $s0) * 1e6 / $clkTck / $n}] \
	ccpu [expr {$cticks * 1e6 / $clkTck / $n}]]
}

# Starts `openssl s_server -WWW` (TLS 1.3 only, the given certificate) on
# 127.0.0.1 port 0, in the temporary directory that holds www.txt.  It
# stops when its stdin closes (bench::stopSServer), and `timeout` ends it
# anyway after `limit` seconds.  Returns {chan pid port openssl-pid}.
proc bench::sServer {certdir limit} {
    variable tmp
    variable childSeq
    set out [file join $tmp s_server-[incr childSeq].out]
    set cmd [list sh -c {cd "$1" && exec timeout "$2" openssl s_server \
	-cert "$3" -key "$4" -tls1_3 -accept 127.0.0.1:0 -naccept 1000000000 \
	-WWW} sh $tmp $limit [file join $certdir server.pem] \
	[file join $certdir server.key]]
    set chan [open |[concat $cmd [list >& $out]] w]
    set pid [lindex [pid $chan] 0]
    set deadline [expr {[clock milliseconds] + 15000}]
    while 1 {
	set text ""
	catch {
	    set f [open $out]
	    set text [read $f]
	    close $f
	}
	if {[regexp {ACCEPT [^\n]*:(\d+)} $text -> port]} break
	if {[clock milliseconds] > $deadline} {
	    catch {exec kill $pid}
	    catch {close $chan}
	    error "openssl s_server did not start: [string range $text 0 300]"
	}
	after 50
    }
    # The openssl process is timeout's child.
    set f [open /proc/$pid/task/$pid/children]
    set ssl [lindex [read $f] 0]
    close $f
    return [list $chan $pid $port $ssl]
}

proc bench::stopSServer {server} {
    lassign $server chan pid port ssl
    fconfigure $chan -blocking 0
    catch {close $chan}
    set deadline [expr {[clock milliseconds] + 5000}]
    while {[file exists /proc/$ssl] && [clock milliseconds] < $deadline} {
	after 50
    }
    if {[file exists /proc/$ssl]} {catch {exec kill $pid}}
}

# RSA-2048 CA and server certificate, laid out as demo/gencerts.sh lays
# out its EC P-256 ones (ca.pem, server.pem, server.key).
proc bench::rsaCerts {dir} {
    file mkdir $dir
    set cnf [file join $dir openssl.cnf]
    set f [open $cnf w]
    puts $f {[req]
distinguished_name = dn_ca
prompt             = no
[dn_ca]
O  = TclTLS bench
CN = TclTLS bench RSA CA
[ext_ca]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ext_server]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid}
    close $f
    set old [pwd]
    cd $dir
    try {
	foreach cmd {
	    {openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key}
	    {openssl req -new -x509 -config openssl.cnf -extensions ext_ca
		-key ca.key -sha256 -days 2 -out ca.pem}
	    {openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key}
	    {openssl req -new -config openssl.cnf -key server.key
		-subj /O=TclTLS\ bench/CN=localhost -out server.csr}
	    {openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key
		-set_serial 0x1234abcd -days 2 -sha256
		-extfile openssl.cnf -extensions ext_server -out server.pem}
	} {
	    exec {*}$cmd 2>@1
	}
    } finally {
	cd $old
    }
    file delete [file join $dir server.csr] $cnf
}

# Records and prints one handshake run's figures under prefix.
proc bench::hsRecord {name prefix res} {
    variable clkTck
    set n [dict get $res n]
    record $name $prefix.rate [dict get $res rate]
    record $name $prefix.handshake [dict get $res handshake]
    record $name $prefix.request [dict get $res request]
    record $name $prefix.scpu [expr {[dict get $res sticks] * 1e6 / $clkTck / $n}]
    record $name $prefix.ccpu [expr {[dict get $res cticks] * 1e6 / $clkTck / $n}]
    progress $name [format "%.0f/s over %d, handshake %d us, first request\
	%d us, CPU/conn server %.0f us, client %.0f us, reused %s  %s" \
	[dict get $res rate] $n [dict get $res handshake] \
	[dict get $res request] \
	[expr {[dict get $res sticks] * 1e6 / $clkTck / $n}] \
	[expr {[dict get $res cticks] * 1e6 / $clkTck / $n}] \
	[dict get $res reused] [dict get $res negotiated]]
}

proc bench::record {name metric value} {
    variable figures
    set figures($name,$metric) $value
}

proc bench::failed {name what err} {
    variable errors
    lappend errors "$name, $what: $err"
    puts "    $name: ERROR $err"
}

proc bench::progress {name text} {
    puts [format "    %-10s %s" $name $text]
}

proc bench::pkgdirFor {dir label} {
    if {![file isfile [file join $dir pkgIndex.tcl]]} {
	error "$label=$dir has no pkgIndex.tcl"
    }
    return [file normalize $dir]
}

# The cipher's own speed on this machine, for scale: one core, 16 KiB
# records, encryption, as `openssl speed` reports it (in 1000s of bytes per
# second).  Returns MB/s, or "" if openssl speed did not say.
proc bench::cipherSpeed {cipher} {
    set name [string toupper $cipher]
    if {[catch {
	exec openssl speed -seconds 1 -bytes 16384 -evp $cipher 2>/dev/null
    } out] || ![regexp -line "^$name\\s+(\[\\d.\]+)k" $out -> kbps]} {
	return ""
    }
    return [expr {$kbps / 1000.0}]
}

proc bench::main {} {
    variable here
    variable tmp
    variable impls
    variable implOpts
    variable figures
    variable errors
    variable notes
    variable MiB
    variable clkTck

    set megabytes [env BENCH_MB 256]
    set repeat [env BENCH_RUNS 5]
    set bytes [expr {$megabytes * $MiB}]
    set handshakes [env BENCH_HANDSHAKES 10000]
    set seconds [env BENCH_SECONDS 3]
    set conns [env BENCH_CONNS 1000]
    set echoConns [env BENCH_ECHO_CONNS "100 1000 5000"]
    set echoSeconds [env BENCH_ECHO_SECONDS 5]
    set echoClients [env BENCH_ECHO_CLIENTS 1]
    set echoBytes [env BENCH_ECHO_BYTES 48]
    set clkTck [exec getconf CLK_TCK]

    # Never more connections than the hard fd limit allows.
    set hard [exec sh -c {ulimit -Hn}]
    if {$hard ne "unlimited" && $conns + 64 > $hard} {
	set conns [expr {$hard - 64}]
    }
    # Tcl 8.6's notifier is select(), for fds below FD_SETSIZE (1024) only;
    # Tcl 8.7 and 9 use epoll on Linux.
    set selectNotifier [expr {![package vsatisfies [info patchlevel] 8.7-]}]

    # Which packages: ours from build/tls unless told otherwise.
    set ours [env TLS_OURS ""]
    if {$ours eq "" && [file isfile [file join $here .. build tls pkgIndex.tcl]]} {
	set ours [file join $here .. build tls]
    }
    if {$ours ne ""} {set ours [pkgdirFor $ours TLS_OURS]}
    set compare [env TLS_COMPARE ""]
    if {$compare ne ""} {set compare [pkgdirFor $compare TLS_COMPARE]}

    set tmp [file join [env TMPDIR /tmp] tls-bench-[pid]]
    file mkdir $tmp
    set certdir [file join $tmp certs]
    exec sh [file join $here .. demo gencerts.sh] $certdir
    set certdirs(ec) $certdir
    set certdirs(rsa) [file join $tmp certs-rsa]
    rsaCerts $certdirs(rsa)
    set certNames {ec "EC P-256" rsa "RSA-2048"}
    # What `openssl s_server -WWW` serves to `openssl s_time -www /www.txt`.
    set f [open [file join $tmp www.txt] w]
    puts $f ok
    close $f

    set impls {plain ours}
    set implOpts(plain) [list impl plain pkgdir {} certdir $certdir]
    set implOpts(ours) [list impl tls pkgdir $ours certdir $certdir]
    if {$compare ne ""} {
	lappend impls compare
	set implOpts(compare) [list impl tls pkgdir $compare certdir $certdir]
    }
    set tlsImpls [lrange $impls 1 end]

    puts "tls benchmark: [exec uname -srm], [exec nproc] cpus, Tcl [info patchlevel]"
    puts "certificates: EC P-256 (RSA-2048 too for the handshakes), server\
	    offers TLS 1.3 only; clients verify with -cafile"
    set speeds {}
    foreach cipher {aes-128-gcm aes-256-gcm} {
	set mbps [cipherSpeed $cipher]
	if {$mbps eq ""} {
	    lappend speeds "[string toupper $cipher] (not available)"
	    continue
	}
	set speed($cipher) $mbps
	lappend speeds [format "%s %.0f MB/s = %.2f ns/B" \
	    [string toupper $cipher] $mbps [expr {1000.0 / $mbps}]]
    }
    puts "openssl speed, one core, 16 KiB blocks, encrypt: [join $speeds {; }]"
    set labels(plain) "plain"
    set labels(ours) "tls(ours)"
    set labels(compare) "tls(cmp)"
    foreach name $impls {
	set child [spawn info $name {}]
	try {
	    set info [result? [expect $child 30]]
	    if {$name eq "plain"} {
		puts [format "  %-10s Tcl socket" $name]
	    } else {
		set resumes($name) [dict get $info resumes]
		puts [format "  %-10s tls %s, %s\n  %-10s %s" $name \
		    [dict get $info version] [dict get $info openssl] "" \
		    [dict get $info file]]
		if {$name eq "compare"} {
		    set labels(compare) "tls [dict get $info version]"
		}
	    }
	} on error err {
	    error "cannot load the $name package: $err"
	} finally {
	    stop $child
	}
    }
    puts ""

    set started [clock milliseconds]
    set rows {}

    # (a) bulk throughput, and CPU per byte for blocking fcopy
    set modeNames {
	block  "blocking fcopy"
	copyev "fcopy -command"
	fileev "fileevent, 1 MiB read/write"
    }
    set cpuRows {}
    foreach direction {UP DOWN} {
	set arrow [expr {$direction eq "UP" ? "client->server" : "server->client"}]
	foreach {mode label} $modeNames {
	    set metric bulk.$direction.$mode
	    lappend rows $metric "$arrow $label (MB/s)"
	    if {$mode eq "block"} {
		set sender [expr {$direction eq "UP" ? "client" : "server"}]
		set receiver [expr {$direction eq "UP" ? "server" : "client"}]
		lappend cpuRows $metric.$sender "$arrow $label: $sender (sender) CPU (ns/B)" \
		    $metric.$receiver "$arrow $label: $receiver (receiver) CPU (ns/B)"
	    }
	    puts "  bulk $arrow, $label, $megabytes MiB, median of $repeat"
	    foreach name $impls {
		set runs {}
		set cticks 0
		set sticks 0
		set cipher {}
		if {[catch {
		    for {set run 0} {$run < $repeat} {incr run} {
			set res [pair $name bulk [list direction $direction \
			    mode $mode bytes $bytes] 120]
			lappend runs [dict get $res mbps]
			incr cticks [dict get $res cticks]
			incr sticks [dict get $res sticks]
			set cipher [dict get $res cipher]
		    }
		} err]} {
		    failed $name "bulk $direction $mode" $err
		    continue
		}
		set mbps [lindex [lsort -real $runs] [expr {[llength $runs] / 2}]]
		record $name $metric $mbps
		set total [expr {double($bytes) * $repeat}]
		set cns [expr {$cticks * 1e9 / $clkTck / $total}]
		set sns [expr {$sticks * 1e9 / $clkTck / $total}]
		record $name $metric.client $cns
		record $name $metric.server $sns
		if {$mode eq "block" && $cipher ne ""} {set bulkCipher($name) $cipher}
		set cpu ""
		if {$mode eq "block"} {
		    set cpu [format "  CPU client %.2f, server %.2f ns/B" $cns $sns]
		}
		progress $name [format "%.0f MB/s  (runs: %s)%s  %s" $mbps \
		    [join [lmap r $runs {format %.0f $r}] " "] $cpu $cipher]
	    }
	}
    }
    lappend rows {*}$cpuRows
    # CPU per byte against the cipher alone, for the negotiated cipher.
    foreach name $tlsImpls {
	if {![info exists bulkCipher($name)]} continue
	set c [string tolower $bulkCipher($name)]
	if {[regexp {aes_?(128|256)_?gcm} [string map {- _} $c] -> bits]
		&& [info exists speed(aes-$bits-gcm)]} {
	    set floor [expr {1000.0 / $speed(aes-$bits-gcm)}]
	    set parts {}
	    foreach {metric what} {bulk.UP.block.client "c->s sender"
		    bulk.UP.block.server "c->s receiver"
		    bulk.DOWN.block.server "s->c sender"
		    bulk.DOWN.block.client "s->c receiver"} {
		if {[info exists figures($name,$metric)]
			&& $figures($name,$metric) > 0} {
		    lappend parts [format "%s %.2fx" $what \
			[expr {$figures($name,$metric) / $floor}]]
		}
	    }
	    lappend notes "$name, blocking fcopy with $bulkCipher($name): CPU\
		per byte / AES-$bits-GCM alone ([format %.2f $floor] ns/B):\
		[join $parts {, }]"
	}
    }
    foreach cipher {aes-128-gcm aes-256-gcm} {
	set metric cipher.$cipher
	lappend rows $metric "[string toupper $cipher] alone, openssl speed, one core (ns/B)"
	record plain $metric -
	foreach name $tlsImpls {
	    record $name $metric [expr {[info exists speed($cipher)]
		? 1000.0 / $speed($cipher) : "n/a"}]
	}
    }

    # (b) many small messages on one event-driven server
    puts "  echo: $echoBytes-byte lines, one in flight per connection, one\
	    server, $echoClients client process(es), ${echoSeconds} s each"
    foreach n $echoConns {
	lappend rows echo.$n.rate "echo, $n connections (messages/s)" \
	    echo.$n.scpu "echo, $n connections: server CPU per message (us)" \
	    echo.$n.ccpu "echo, $n connections: client CPU per message (us)"
	if {$selectNotifier && $n + 24 > 1024} {
	    foreach name $impls {
		foreach m {rate scpu ccpu} {record $name echo.$n.$m n/a}
	    }
	    puts "    $n connections: n/a (select notifier)"
	    lappend notes "echo with $n connections: n/a (select notifier:\
		Tcl [info patchlevel] handles fds below 1024 only)"
	    continue
	}
	if {$hard ne "unlimited" && $n + 64 > $hard} {
	    foreach name $impls {
		foreach m {rate scpu ccpu} {record $name echo.$n.$m n/a}
	    }
	    puts "    $n connections: n/a (hard fd limit $hard)"
	    continue
	}
	puts "    $n connections"
	foreach name $impls {
	    if {[catch {
		echoTest $name $n $echoSeconds $echoClients $echoBytes
	    } res]} {
		failed $name "echo $n" $res
		continue
	    }
	    record $name echo.$n.rate [dict get $res rate]
	    record $name echo.$n.scpu [dict get $res scpu]
	    record $name echo.$n.ccpu [dict get $res ccpu]
	    progress $name [format "%.0f messages/s, CPU per message: server\
		%.1f us, clients %.1f us (busy: server %.0f%%, clients %.0f%%)" \
		[dict get $res rate] [dict get $res scpu] [dict get $res ccpu] \
		[dict get $res sbusy] [dict get $res cbusy]]
	}
    }

    # (c) sequential handshakes, full and resumed; openssl s_time against
    # our server and against openssl s_server
    puts "  sequential connections (connect, handshake, one echo, close):\
	    ${seconds} s (at most $handshakes) each"
    set hsOpts [list count $handshakes seconds $seconds]
    set hsWait [expr {$seconds + 60}]
    puts "    plain Tcl sockets, for scale"
    set plainHs {}
    if {[catch {
	pair plain handshakes [dict merge $hsOpts {mode full}] $hsWait
    } res]} {
	failed plain handshakes $res
    } else {
	set plainHs $res
	hsRecord plain hs.plain $res
    }
    foreach cert {ec rsa} {
	set cname [dict get $certNames $cert]
	set cd $certdirs($cert)
	set p hs.$cert
	lappend rows \
	    $p.full.rate "$cname: Tcl->Tcl, full handshake (conn/s)" \
	    $p.resumed.rate "$cname: Tcl->Tcl, resumed (conn/s)" \
	    $p.full.handshake "$cname: full: connect + handshake, median (us)" \
	    $p.full.request "$cname: full: first request/response, median (us)" \
	    $p.resumed.handshake "$cname: resumed: connect + handshake, median (us)" \
	    $p.resumed.request "$cname: resumed: first request/resp., median (us)" \
	    $p.full.scpu "$cname: full: server CPU per connection (us)" \
	    $p.full.ccpu "$cname: full: client CPU per connection (us)" \
	    $p.resumed.scpu "$cname: resumed: server CPU per connection (us)" \
	    $p.resumed.ccpu "$cname: resumed: client CPU per connection (us)" \
	    $p.st.new.rate "$cname: s_time -new -> Tcl server (conn/s)" \
	    $p.st.new.scpu "$cname: s_time -new -> Tcl server: server CPU/conn (us)" \
	    $p.st.new.ccpu "$cname: s_time -new -> Tcl server: s_time CPU/conn (us)" \
	    $p.st.reuse.rate "$cname: s_time -reuse -> Tcl server (conn/s)" \
	    $p.st.reuse.scpu "$cname: s_time -reuse -> Tcl server: server CPU/conn" \
	    $p.st.reuse.ccpu "$cname: s_time -reuse -> Tcl server: s_time CPU/conn" \
	    $p.ss.new.rate "$cname: s_time -new -> openssl s_server (conn/s)" \
	    $p.ss.new.scpu "$cname: s_time -new -> s_server: server CPU/conn (us)" \
	    $p.ss.new.ccpu "$cname: s_time -new -> s_server: s_time CPU/conn (us)" \
	    $p.ss.reuse.rate "$cname: s_time -reuse -> openssl s_server (conn/s)" \
	    $p.ss.reuse.scpu "$cname: s_time -reuse -> s_server: server CPU/conn" \
	    $p.ss.reuse.ccpu "$cname: s_time -reuse -> s_server: s_time CPU/conn"
	# The plain column: the plain Tcl figures, the same for every row.
	if {$plainHs ne ""} {
	    foreach mode {full resumed} {
		foreach m {rate handshake request scpu ccpu} {
		    record plain $p.$mode.$m $figures(plain,hs.plain.$m)
		}
	    }
	    foreach m {st.new st.reuse ss.new ss.reuse} {
		record plain $p.$m.rate $figures(plain,hs.plain.rate)
		record plain $p.$m.scpu $figures(plain,hs.plain.scpu)
		record plain $p.$m.ccpu $figures(plain,hs.plain.ccpu)
	    }
	}
	foreach name $tlsImpls {
	    foreach mode {full resumed} {
		if {$mode eq "resumed" && !$resumes($name)} {
		    foreach m {rate handshake request scpu ccpu} {
			record $name $p.$mode.$m n/a
		    }
		    puts "    $cname, $mode, $name: n/a (keeps no client sessions)"
		    continue
		}
		puts "    $cname, $mode handshakes, Tcl client -> Tcl server"
		if {[catch {
		    pair $name handshakes [dict merge $hsOpts [list mode $mode \
			certdir $cd]] $hsWait [list certdir $cd]
		} res]} {
		    failed $name "handshakes $cert $mode" $res
		    continue
		}
		hsRecord $name $p.$mode $res
		if {$mode eq "resumed" && [dict get $res reused] == 0} {
		    lappend notes "$name, $cname: no connection resumed in the\
			resumed run"
		}
	    }
	    # s_time against this package's server.
	    set server {}
	    if {[catch {
		set server [spawn server $name [list certdir $cd]]
		set port [lindex [expect $server 30] 1]
		foreach mode {new reuse} {
		    puts "    $cname, openssl s_time -$mode -> Tcl server"
		    set res [stime $port $cd $mode $seconds [lindex $server 1]]
		    record $name $p.st.$mode.rate [dict get $res rate]
		    record $name $p.st.$mode.scpu [dict get $res scpu]
		    record $name $p.st.$mode.ccpu [dict get $res ccpu]
		    progress $name [format "%.0f/s over %d, reused %d, CPU/conn\
			server %.0f us, s_time %.0f us" [dict get $res rate] \
			[dict get $res n] [dict get $res reused] \
			[dict get $res scpu] [dict get $res ccpu]]
		}
	    } err]} {
		failed $name "s_time $cert" $err
	    }
	    if {$server ne ""} {stop $server}
	}
	# The ceiling: s_time against openssl s_server, shown in our column.
	foreach name [lrange $tlsImpls 1 end] {
	    foreach m {ss.new ss.reuse} {
		record $name $p.$m.rate -
		record $name $p.$m.scpu -
		record $name $p.$m.ccpu -
	    }
	}
	set server {}
	if {[catch {
	    set server [sServer $cd [expr {4 * $seconds + 120}]]
	    foreach mode {new reuse} {
		puts "    $cname, openssl s_time -$mode -> openssl s_server"
		set res [stime [lindex $server 2] $cd $mode $seconds [lindex $server 3]]
		record ours $p.ss.$mode.rate [dict get $res rate]
		record ours $p.ss.$mode.scpu [dict get $res scpu]
		record ours $p.ss.$mode.ccpu [dict get $res ccpu]
		progress s_server [format "%.0f/s over %d, reused %d, CPU/conn\
		    server %.0f us, s_time %.0f us" [dict get $res rate] \
		    [dict get $res n] [dict get $res reused] \
		    [dict get $res scpu] [dict get $res ccpu]]
	    }
	} err]} {
	    failed s_server "s_time $cert" $err
	}
	if {$server ne ""} {stopSServer $server}
	foreach mode {new reuse} {
	    if {[info exists figures(ours,$p.st.$mode.rate)]
		&& [info exists figures(ours,$p.ss.$mode.rate)]
		&& [string is double -strict $figures(ours,$p.ss.$mode.rate)]} {
		lappend notes [format "%s, s_time -%s: our Tcl server: %.2fx\
		    openssl s_server's rate, %.2fx its server CPU per\
		    connection" $cname $mode \
		    [expr {$figures(ours,$p.st.$mode.rate) / $figures(ours,$p.ss.$mode.rate)}] \
		    [expr {$figures(ours,$p.st.$mode.scpu) / max($figures(ours,$p.ss.$mode.scpu), 1e-9)}]]
	    }
	}
    }

    # (d) memory per idle connection, both sides
    lappend rows mem.per "server RSS per idle connection (KiB)" \
	mem.total "server RSS with $conns connections (MiB)" \
	mem.cper "client RSS per idle connection (KiB)" \
	mem.ctotal "client RSS with $conns connections (MiB)"
    puts "  memory with $conns idle connections"
    foreach name $impls {
	if {[catch {idle $name $conns} res]} {
	    failed $name "idle connections" $res
	    continue
	}
	record $name mem.per [dict get $res perConn]
	record $name mem.total [expr {[dict get $res after] / 1024.0}]
	record $name mem.cper [dict get $res clientPerConn]
	record $name mem.ctotal [expr {[dict get $res clientAfter] / 1024.0}]
	progress $name [format "server %.1f KiB/connection (RSS %d -> %d KiB),\
	    client %.1f KiB/connection (RSS %d -> %d KiB)" \
	    [dict get $res perConn] [dict get $res before] [dict get $res after] \
	    [dict get $res clientPerConn] [dict get $res clientBefore] \
	    [dict get $res clientAfter]]
    }

    set elapsed [expr {([clock milliseconds] - $started) / 1000.0}]
    puts ""
    printTable $rows [array get labels]
    puts ""
    puts [format "ran in %.0f s.  ratio = ours/plain (throughput and rate:\
	    higher is better; times and memory: lower is better)." $elapsed]
    puts "s_server rows show openssl s_server in the tls(ours) column; the\
	    plain column holds the plain Tcl figure for scale."
    if {[llength $notes]} {
	puts ""
	puts "notes:"
	foreach note $notes {puts "  $note"}
    }

    if {[llength $errors]} {
	puts ""
	puts "errors:"
	foreach e $errors {puts "  $e"}
	return 1
    }
    return 0
}

proc bench::cell {name metric} {
    variable figures
    if {![::info exists figures($name,$metric)]} {return "error"}
    set v $figures($name,$metric)
    if {![string is double -strict $v]} {return $v}
    if {abs($v) >= 100} {return [format %.0f $v]}
    if {abs($v) >= 1 || $v == 0} {return [format %.1f $v]}
    return [format %.2f $v]
}

proc bench::ratio {metric a b} {
    variable figures
    if {![::info exists figures($a,$metric)] || ![::info exists figures($b,$metric)]
	|| ![string is double -strict $figures($a,$metric)]
	|| ![string is double -strict $figures($b,$metric)]
	|| $figures($b,$metric) == 0} {
	return "-"
    }
    set r [expr {double($figures($a,$metric)) / $figures($b,$metric)}]
    return [format [expr {$r < 0.1 ? "%.3f" : "%.2f"}] $r]
}

proc bench::printTable {rows labels} {
    variable impls
    set compare [expr {"compare" in $impls}]
    set fmt "%-60s %10s %10s %7s"
    set header [list metric plain [dict get $labels ours] ratio]
    if {$compare} {
	append fmt " %12s %8s"
	lappend header [dict get $labels compare] ours/cmp
    }
    puts [format $fmt {*}$header]
    puts [string repeat - [string length [format $fmt {*}$header]]]
    foreach {metric label} $rows {
	set line [list $label [cell plain $metric] [cell ours $metric] \
	    [ratio $metric ours plain]]
	if {$compare} {
	    lappend line [cell compare $metric] [ratio $metric ours compare]
	}
	puts [format $fmt {*}$line]
    }
}

if {[lindex $argv 0] eq "-child"} {
    if {[catch {bench::child [lrange $argv 1 end]} err]} {
	puts stderr $::errorInfo
	exit 1
    }
    exit 0
}
set code 1
try {
    set code [bench::main]
} on error err {
    puts stderr "bench: $err"
} finally {
    if {[info exists bench::tmp]} {file delete -force $bench::tmp}
}
exit $code
