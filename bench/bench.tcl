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
#	                    sequential connections per run, and a time cap
#	                    (default 300 connections, 15 s)
#	  BENCH_CONNS=n     idle connections for the memory figure (default
#	                    1000; Tcl 8.6's select() notifier caps fds at 1024)
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

# Defines bench::connect, bench::listen and bench::handshake for the
# implementation under test.  The TLS and plain variants differ only there.
proc bench::loadImpl {impl pkgdir certdir} {
    if {$impl eq "plain"} {
	proc ::bench::connect {host port} {
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
    proc ::bench::connect {host port} "tls::socket [list \
	-cafile $ca -require 1 -servername localhost] \$host \$port"
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
#   anything else     echo every line back until EOF

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
# the server's READY (handshake done) to the last byte delivered.
proc bench::bulkClient {port direction mode bytes} {
    set chan [connect 127.0.0.1 $port]
    bulkConfigure $chan
    puts $chan "$direction $mode $bytes"
    flush $chan
    if {[gets $chan line] < 0 || $line ne "READY"} {
	error "expected READY, got \"$line\""
    }
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
    close $chan
    result mbps [expr {double($bytes) / ($t1 - $t0)}]
}

# Opens one connection, completes the handshake and echoes a line on it.
# Returns {channel handshake-µs request/response-µs}.
proc bench::echoConnection {port i} {
    set t0 [clock microseconds]
    set chan [connect 127.0.0.1 $port]
    fconfigure $chan -translation binary -buffering line
    handshake $chan
    set t1 [clock microseconds]
    puts $chan "ping $i"
    if {[gets $chan line] < 0 || $line ne "ping $i"} {
	error "echo: expected \"ping $i\", got \"$line\""
    }
    set t2 [clock microseconds]
    return [list $chan [expr {$t1 - $t0}] [expr {$t2 - $t1}]]
}

# Sequential connections: connect, handshake, one line echoed, close.
proc bench::handshakeClient {port count seconds impl} {
    # One warm-up connection first: loading the CA file and building the
    # context happen once per process and are not what we time.
    lassign [echoConnection $port 0] chan
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
    set start [clock microseconds]
    set deadline [expr {$start + $seconds * 1000000}]
    for {set i 1} {$i <= $count && [clock microseconds] < $deadline} {incr i} {
	lassign [echoConnection $port $i] chan hs rr
	close $chan
	lappend handshakes $hs
	lappend firstRequest $rr
    }
    set elapsed [expr {[clock microseconds] - $start}]
    set n [llength $handshakes]
    result rate [expr {$n * 1e6 / $elapsed}] n $n \
	handshake [median $handshakes] request [median $firstRequest] \
	negotiated $negotiated
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
    result version [package present tls] file $file openssl [tls::version]
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
		[dict get $opts mode] [dict get $opts bytes]
	}
	handshakes {
	    handshakeClient [dict get $opts port] [dict get $opts count] \
		[dict get $opts seconds] [dict get $opts impl]
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
proc bench::pair {name role opts seconds} {
    set server [spawn server $name {}]
    set client {}
    try {
	set port [lindex [expect $server 30] 1]
	set client [spawn $role $name [dict merge $opts [list port $port]]]
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
	puts [lindex $client 0] GO
	if {[lindex [set line [expect $client 120]] 0] ne "READY"} {
	    error "expected READY, got $line"
	}
	after 300
	set rssAfter [rss [lindex $server 1]]
	return [list perConn [expr {($rssAfter - $before) / double($count)}] \
	    before $before after $rssAfter]
    } finally {
	if {$client ne ""} {stop $client}
	stop $server
    }
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
# records, as `openssl speed` reports it (in 1000s of bytes per second).
proc bench::cipherSpeed {} {
    if {[catch {
	exec openssl speed -seconds 1 -bytes 16384 -evp aes-256-gcm 2>/dev/null
    } out] || ![regexp -line {^AES-256-GCM\s+([\d.]+)k} $out -> kbps]} {
	return "(not available)"
    }
    return [format "AES-256-GCM %.0f MB/s on one core (16 KiB blocks)" \
	[expr {$kbps / 1000.0}]]
}

proc bench::main {} {
    variable here
    variable tmp
    variable impls
    variable implOpts
    variable figures
    variable errors
    variable MiB

    set megabytes [env BENCH_MB 256]
    set repeat [env BENCH_RUNS 5]
    set bytes [expr {$megabytes * $MiB}]
    set handshakes [env BENCH_HANDSHAKES 300]
    set seconds [env BENCH_SECONDS 15]
    set conns [env BENCH_CONNS 1000]

    # Never more idle connections than the hard fd limit allows.
    set hard [exec sh -c {ulimit -Hn}]
    if {$hard ne "unlimited" && $conns + 64 > $hard} {
	set conns [expr {$hard - 64}]
    }

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

    set impls {plain ours}
    set implOpts(plain) [list impl plain pkgdir {} certdir $certdir]
    set implOpts(ours) [list impl tls pkgdir $ours certdir $certdir]
    if {$compare ne ""} {
	lappend impls compare
	set implOpts(compare) [list impl tls pkgdir $compare certdir $certdir]
    }

    puts "tls benchmark: [exec uname -srm], [exec nproc] cpus, Tcl [info patchlevel]"
    puts "certificate: EC P-256, server offers TLS 1.3 only; clients verify\
	    with -cafile"
    puts "openssl speed: [cipherSpeed]"
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

    # (a) bulk throughput
    set modeNames {
	block  "blocking fcopy"
	copyev "fcopy -command"
	fileev "fileevent, 1 MiB read/write"
    }
    foreach direction {UP DOWN} {
	set arrow [expr {$direction eq "UP" ? "client->server" : "server->client"}]
	foreach {mode label} $modeNames {
	    set metric bulk.$direction.$mode
	    lappend rows $metric "$arrow $label (MB/s)"
	    puts "  bulk $arrow, $label, $megabytes MiB, median of $repeat"
	    foreach name $impls {
		set runs {}
		if {[catch {
		    for {set run 0} {$run < $repeat} {incr run} {
			set res [pair $name bulk [list direction $direction \
			    mode $mode bytes $bytes] 120]
			lappend runs [dict get $res mbps]
		    }
		} err]} {
		    failed $name "bulk $direction $mode" $err
		    continue
		}
		set mbps [lindex [lsort -real $runs] [expr {[llength $runs] / 2}]]
		record $name $metric $mbps
		progress $name [format "%.0f MB/s  (runs: %s)" $mbps \
		    [join [lmap r $runs {format %.0f $r}] " "]]
	    }
	}
    }

    # (b) sequential handshakes and first request latency
    lappend rows hs.rate "connections/s (connect, handshake, echo, close)" \
	hs.handshake "connect + handshake, median (us)" \
	hs.request "first request/response after it, median (us)"
    puts "  sequential connections: up to $handshakes or $seconds s"
    foreach name $impls {
	if {[catch {
	    pair $name handshakes [list count $handshakes seconds $seconds] \
		[expr {$seconds + 60}]
	} res]} {
	    failed $name handshakes $res
	    continue
	}
	record $name hs.rate [dict get $res rate]
	record $name hs.handshake [dict get $res handshake]
	record $name hs.request [dict get $res request]
	progress $name [format "%.0f/s over %d, handshake %d us, first\
		request %d us  %s" [dict get $res rate] [dict get $res n] \
		[dict get $res handshake] [dict get $res request] \
		[dict get $res negotiated]]
    }

    # (c) memory per idle connection
    lappend rows mem.per "server RSS per idle connection (KiB)" \
	mem.total "server RSS with $conns connections (MiB)"
    puts "  server memory with $conns idle connections"
    foreach name $impls {
	if {[catch {idle $name $conns} res]} {
	    failed $name "idle connections" $res
	    continue
	}
	record $name mem.per [dict get $res perConn]
	record $name mem.total [expr {[dict get $res after] / 1024.0}]
	progress $name [format "%.1f KiB/connection (RSS %d -> %d KiB)" \
	    [dict get $res perConn] [dict get $res before] [dict get $res after]]
    }

    set elapsed [expr {([clock milliseconds] - $started) / 1000.0}]
    puts ""
    printTable $rows [array get labels]
    puts ""
    puts [format "ran in %.0f s.  ratio = ours/plain (throughput and rate:\
	    higher is better; times and memory: lower is better)." $elapsed]

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
    if {abs($v) >= 100} {return [format %.0f $v]}
    return [format %.1f $v]
}

proc bench::ratio {metric a b} {
    variable figures
    if {![::info exists figures($a,$metric)] || ![::info exists figures($b,$metric)]
	|| $figures($b,$metric) == 0} {
	return "-"
    }
    set r [expr {double($figures($a,$metric)) / $figures($b,$metric)}]
    return [format [expr {$r < 0.1 ? "%.3f" : "%.2f"}] $r]
}

proc bench::printTable {rows labels} {
    variable impls
    set compare [expr {"compare" in $impls}]
    set fmt "%-52s %10s %10s %7s"
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
