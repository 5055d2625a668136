# soak.tcl --
#
#	A soak run of the tls package: one event-driven server (this package,
#	tls::socket -server) through tens of thousands of connections of
#	mixed kinds, clean and hostile, while a thousand other connections
#	stay open and keep echoing.  Prints figures (descriptors, memory, CPU,
#	connections per second, outcomes per kind) and a verdict; see
#	bench/README.md.
#
#	Run:  make soak
#	or:   TCLLIBPATH=/path/to/build tclsh bench/soak.tcl
#
#	Environment (all optional):
#	  SOAK_CONNS=n     connections of the churn kinds (default 50000)
#	  SOAK_IDLE=n      steady connections held open (default 1000)
#	  SOAK_ECHO_MS=ms  interval of each steady connection's echo (1000)
#	  SOAK_SLOW=n      slow-loris peers, one byte per second (default 8)
#	  SOAK_KEYUPDATE=n s_client sessions sending key updates (default 20)
#	  SOAK_KEYUPDATE_LOOPS=n  key updates per session (default 100)
#	  SOAK_RENEG=n     s_client TLS 1.2 sessions asking to renegotiate (20)
#	  SOAK_WARMUP=n    churn connections of the warm-up round (default
#	                   2% of SOAK_CONNS, at least 200)
#	  SOAK_PARALLEL=n  connections in flight per churn driver (default 2)
#	  SOAK_RSS_SLACK=KiB  RSS tolerance after the soak (default: 4096 KiB
#	                   plus 2% of the RSS before)
#	  SOAK_RSS_SLACK_DURING=KiB  RSS growth allowed from 10 s into the
#	                   churn to its end (default 2048 KiB)
#	  SOAK_TIMEOUT=s   watchdog for the whole run (default 900 s plus 30 ms
#	                   per connection)
#	  SOAK_SEED=n      random seed of the connection order (default 1)
#	  TLS_OURS=dir     the package directory (default build/tls)
#
#	Processes: this parent (orchestration only), the server, the steady
#	client and the Tcl churn client (children of this same script, run
#	as `soak.tcl -child ROLE ...`), and bench/soak.py (Python's ssl and
#	raw sockets, slow-loris peers, openssl s_client).  Every child has a
#	watchdog of its own; the parent kills (by pid) any child of its own
#	that outlives the run.

package require Tcl 8.6-

namespace eval soak {
    variable script [file normalize [info script]]
    variable here [file dirname $script]
    # The kinds of connection.  addr: the client binds to 127.0.0.ADDR, so
    # the server knows the kind from the peer address alone.  driver: who
    # makes them.  listener: main (no callbacks) or cb (server callbacks
    # that close or unimport).  weight: share of SOAK_CONNS ("-": a count
    # of its own).
    variable kindTable {
	steady              10 steady   main  -   "held open all along, echoing a line every SOAK_ECHO_MS"
	clean-tcl           11 tcl      main  12  "our client: handshake, echo, close (close_notify)"
	clean-py            12 py       main  14  "Python ssl: handshake, echo, close_notify (unwrap)"
	abort               13 py       main  12  "connect, then FIN or RST before a byte"
	plain               14 py       main  8   "plain text (HTTP, text, binary) instead of TLS"
	rst-hs              15 py       main  10  "RST in mid-handshake (half a ClientHello, after the server's flight, half the client's Finished)"
	rst-rec             16 py       main  8   "RST in mid-record after the handshake (half a record; a whole record unread)"
	trunc               17 py       main  10  "echo, then FIN without close_notify (after a record, in mid-record)"
	bigrec              18 py       main  6   "a record header announcing 16 KiB + 1 (before and after the handshake)"
	wrongcert-py        19 py       main  4   "Python: self-signed client certificate or none, TLS 1.3 and 1.2"
	wrongcert-tcl       20 tcl      main  2   "our client with a self-signed client certificate, or none"
	cb-close-hs         21 tcl      cb    2   "server -command closes the channel at handshake done"
	cb-unimport-hs      22 tcl      cb    2   "server -command unimports at handshake done, then closes"
	cb-close-verify     23 tcl      cb    2   "server -validatecommand verify closes the channel"
	cb-unimport-verify  24 tcl      cb    2   "server -validatecommand verify unimports; closed after idle"
	cb-close-hello      25 tcl      cb    1   "server -validatecommand hello closes the channel"
	cb-unimport-hello   26 tcl      cb    1   "server -validatecommand hello unimports, then closes"
	cbc-close-hs        27 tcl      main  2   "client -command closes its own channel at handshake done"
	cbc-unimport-verify 28 tcl      main  2   "client -validatecommand verify unimports its own channel"
	slowloris           29 py       main  -   "stalled peers: one byte per second (handshake, or records)"
	keyupdate           30 s_client main  -   "openssl s_client -tls1_3: K and k (key updates) between echoes"
	reneg               31 s_client main  -   "openssl s_client -tls1_2: R (renegotiation) between echoes"
    }
}

# The outcomes each kind may have: client (what the driver saw) and
# server (how the server's connection ended, plus notes).  Glob patterns;
# anything else is an unexpected error.
namespace eval soak {
    variable expected {
	steady {
	    client {ok}
	    server {eof:close_notify}
	}
	clean-tcl {
	    client {ok}
	    server {eof:close_notify}
	}
	clean-py {
	    client {ok}
	    server {eof:close_notify}
	}
	abort {
	    client {ok}
	    server {eof:nohs}
	}
	plain {
	    client {alert eof}
	    server {{error:handshake failed: wrong version number} {error:handshake failed: http request}
		{error:handshake failed: packet length too long} {error:handshake failed: unknown protocol}}
	}
	rst-hs {
	    client {ok}
	    server {{error:I/O error on the underlying channel: Connection reset by peer*}
		{error:I/O error on the underlying channel: Broken pipe*}
		{error:handshake failed: unexpected eof while reading}}
	}
	rst-rec {
	    client {ok}
	    server {{error:I/O error on the underlying channel: Connection reset by peer*}
		{error:I/O error on the underlying channel: Broken pipe*} eof:truncated}
	}
	trunc {
	    client {ok}
	    server {eof:truncated}
	}
	bigrec {
	    client {alert eof ssl:*ALERT_RECORD_OVERFLOW ssl:SSLV3_ALERT_BAD_RECORD_MAC}
	    server {{error:handshake failed: data length too long}
		{error:handshake failed: packet length too long}
		{error:TLS error: decryption failed or bad record mac}
		{error:handshake failed: unexpected eof while reading}}
	}
	wrongcert-py {
	    client {ssl:TLSV1_ALERT_UNKNOWN_CA ssl:TLSV13_ALERT_CERTIFICATE_REQUIRED
		ssl:SSLV3_ALERT_HANDSHAKE_FAILURE ssl:SSLV3_ALERT_BAD_CERTIFICATE}
	    server {{error:handshake failed: certificate verify failed: *}
		{error:handshake failed: peer did not return a certificate}}
	}
	wrongcert-tcl {
	    client {{error:TLS error: tlsv1 alert unknown ca*}
		{error:TLS error: tlsv13 alert certificate required*}}
	    server {{error:handshake failed: certificate verify failed: *}
		{error:handshake failed: peer did not return a certificate}}
	}
	cb-close-hs {
	    client {eof reset {error:* unexpected eof while reading} {error:*Connection reset by peer}}
	    server {cb:close}
	}
	cb-unimport-hs {
	    client {eof reset {error:* unexpected eof while reading} {error:*Connection reset by peer}}
	    server {cb:unimport}
	}
	cb-close-verify {
	    client {eof reset {error:* unexpected eof while reading} {error:*Connection reset by peer}}
	    server {cb:close}
	}
	cb-unimport-verify {
	    client {eof reset {error:* unexpected eof while reading} {error:*Connection reset by peer}}
	    server {cb:unimport}
	}
	cb-close-hello {
	    client {eof reset {error:* unexpected eof while reading} {error:*Connection reset by peer}}
	    server {cb:close}
	}
	cb-unimport-hello {
	    client {eof reset {error:* unexpected eof while reading} {error:*Connection reset by peer}}
	    server {cb:unimport}
	}
	cbc-close-hs {
	    client {cb:close}
	    server {eof:close_notify eof:truncated}
	}
	cbc-unimport-verify {
	    client {cb:unimport
		{cb:unimport refused: cannot unimport: N bytes written to the channel are not encrypted yet and would be sent in the clear}}
	    server {{error:handshake failed: unexpected eof while reading} eof:close_notify}
	}
	slowloris {
	    client {ok {note:lines echoed one byte per second}}
	    server {eof:close_notify eof:truncated {error:handshake failed: unexpected eof while reading}}
	}
	keyupdate {
	    client {ok}
	    server {eof:close_notify}
	}
	reneg {
	    client {refused}
	    server {{error:TLS error: *alert handshake failure*}}
	}
    }
}

proc soak::env {name default} {
    if {[info exists ::env($name)] && $::env($name) ne ""} {
	return $::env($name)
    }
    return $default
}

proc soak::kinds {} {
    variable kindTable
    set result {}
    foreach {name addr driver listener weight what} $kindTable {
	lappend result $name
    }
    return $result
}

proc soak::kindInfo {kind field} {
    variable kindTable
    foreach {name addr driver listener weight what} $kindTable {
	if {$name eq $kind} {
	    return [set $field]
	}
    }
    error "no kind $kind"
}

proc soak::addrOf {kind} {
    return 127.0.0.[kindInfo $kind addr]
}

# Channel names and addresses differ from run to run; outcomes should not.
proc soak::normalize {message} {
    regsub -all {"[a-z]+[0-9a-fx]+"} $message {"CHAN"} message
    regsub -all {\s+} [string trim $message] " " message
    regsub -all {\m[0-9]+ bytes\M} $message {N bytes} message
    return $message
}

# Contents of a file of /proc/self.
proc soak::procFile {name} {
    set f [open /proc/self/$name]
    set text [read $f]
    close $f
    return $text
}

# {fds rssKiB cpuSeconds} of this process.
proc soak::selfFigures {} {
    variable clkTck
    set fds [llength [glob -nocomplain -directory /proc/self/fd *]]
    regexp {VmRSS:\s+(\d+)} [procFile status] -> rss
    set stat [procFile stat]
    # Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    set rest [string range $stat [expr {[string last ")" $stat] + 2}] end]
    set cpu [expr {([lindex $rest 11] + [lindex $rest 12]) / double($clkTck)}]
    return [list $fds $rss $cpu]
}

# ==========================================================================
# The server.
# ==========================================================================

namespace eval soak::server {
    variable conn		;# chan -> kind, while open
    variable open 0
    variable accepted 0
    variable maxOpen 0
    variable maxFds 0
    variable tally		;# kind,outcome -> count
    variable byAddr		;# 127.0.0.N -> kind
}

proc soak::server::main {certdir timeout} {
    variable byAddr
    set ::soak::clkTck [exec getconf CLK_TCK]
    foreach kind [::soak::kinds] {
	set byAddr([::soak::addrOf $kind]) $kind
    }
    interp bgerror {} ::soak::server::bgerror
    set common [list -certfile [file join $certdir server-chain.pem] \
	-keyfile [file join $certdir server.key] \
	-cafile [file join $certdir ca.pem] -request 1 -require 1 \
	-myaddr 127.0.0.1]
    set main [tls::socket -server {::soak::server::accept main} {*}$common 0]
    set cb [tls::socket -server {::soak::server::accept cb} {*}$common \
	-command ::soak::server::command \
	-validatecommand ::soak::server::validate 0]
    puts "PORTS [lindex [fconfigure $main -sockname] 2]\
	    [lindex [fconfigure $cb -sockname] 2]"
    flush stdout
    fileevent stdin readable ::soak::server::control
    after [expr {$timeout * 1000}] {
	puts stderr "server: watchdog: still running after the time limit"
	exit 3
    }
    sample
    vwait forever
}

# Keeps the peak descriptor count (sampled every second).
proc soak::server::sample {} {
    variable maxFds
    set n [llength [glob -nocomplain -directory /proc/self/fd *]]
    if {$n > $maxFds} {set maxFds $n}
    after 1000 ::soak::server::sample
}

proc soak::server::count {kind outcome} {
    variable tally
    set key [list $kind [::soak::normalize $outcome]]
    if {[info exists tally($key)]} {
	incr tally($key)
    } else {
	set tally($key) 1
    }
}

proc soak::server::bgerror {message options} {
    count server "bgerror:$message"
}

proc soak::server::control {} {
    variable tally
    variable open
    variable accepted
    variable maxOpen
    variable maxFds
    if {[gets stdin line] < 0} {
	if {[eof stdin]} {exit 0}
	return
    }
    switch -- [lindex $line 0] {
	STATS {
	    lassign [::soak::selfFigures] fds rss cpu
	    if {$fds > $maxFds} {set maxFds $fds}
	    puts [list STATS fds $fds rss $rss cpu $cpu open $open \
		accepted $accepted maxopen $maxOpen maxfds $maxFds]
	}
	RESETPEAK {
	    set maxOpen $open
	    set maxFds 0
	    puts RESETPEAK
	}
	TALLY {
	    puts [list TALLY [array get tally]]
	}
	QUIT {
	    exit 0
	}
	default {
	    puts [list ERROR "unknown request $line"]
	}
    }
    flush stdout
}

proc soak::server::accept {listener chan addr port} {
    variable conn
    variable byAddr
    variable open
    variable accepted
    variable maxOpen
    set kind [expr {[info exists byAddr($addr)] ? $byAddr($addr) : "unknown-$addr"}]
    set conn($chan) $kind
    incr accepted
    if {[incr open] > $maxOpen} {set maxOpen $open}
    fconfigure $chan -blocking 0 -buffering line -translation binary
    fileevent $chan readable [list ::soak::server::readable $chan]
}

# Echoes lines until EOF or an error.
proc soak::server::readable {chan} {
    while 1 {
	if {[catch {gets $chan line} n]} {
	    finish $chan "error:$n"
	    return
	}
	if {$n < 0} break
	if {[catch {puts $chan $line} err]} {
	    finish $chan "error:$err"
	    return
	}
    }
    if {[eof $chan]} {
	set status [tls::status $chan]
	if {[dict exists $status peer_close]} {
	    finish $chan "eof:[dict get $status peer_close]"
	} else {
	    finish $chan "eof:nohs"
	}
    }
}

# Ends a connection: counts the outcome, closes the channel.
proc soak::server::finish {chan outcome} {
    variable conn
    variable open
    if {![info exists conn($chan)]} return
    set kind $conn($chan)
    unset conn($chan)
    incr open -1
    count $kind $outcome
    if {[catch {close $chan} err]} {
	count $kind "close-error:$err"
    }
}

# The cb listener's -command: closes or unimports at handshake done.
proc soak::server::command {form chan args} {
    variable conn
    if {![info exists conn($chan)]} return
    set kind $conn($chan)
    switch -- $form {
	info {
	    lassign $args major minor
	    if {$major eq "handshake" && $minor eq "done"} {
		switch -- $kind {
		    cb-close-hs {act $chan close}
		    cb-unimport-hs {act $chan unimport}
		}
	    }
	}
	error {
	    count $kind "note:-command error: [lindex $args 0]"
	}
    }
}

# The cb listener's -validatecommand: closes or unimports at verify or
# hello.  Keeps OpenSSL's verdict on the certificate.
proc soak::server::validate {form chan args} {
    variable conn
    set kind [expr {[info exists conn($chan)] ? $conn($chan) : ""}]
    switch -- $form {
	verify {
	    lassign $args depth cert status
	    if {$depth == 0} {
		switch -- $kind {
		    cb-close-verify {act $chan close}
		    cb-unimport-verify {act $chan unimport-later}
		}
	    }
	    return $status
	}
	hello {
	    switch -- $kind {
		cb-close-hello {act $chan close}
		cb-unimport-hello {act $chan unimport}
	    }
	    return 1
	}
    }
    return 1
}

# Closes or unimports a channel from inside its callback.
proc soak::server::act {chan action} {
    variable conn
    variable open
    set kind $conn($chan)
    unset conn($chan)
    incr open -1
    fileevent $chan readable {}
    switch -- $action {
	close {
	    if {[catch {close $chan} err]} {
		count $kind "cb-close-error:$err"
	    } else {
		count $kind cb:close
	    }
	}
	unimport - unimport-later {
	    if {[catch {tls::unimport $chan} err]} {
		count $kind "cb-unimport-error:$err"
	    } else {
		count $kind cb:unimport
	    }
	    # The plain socket that is left.
	    if {$action eq "unimport"} {
		catch {close $chan}
	    } else {
		after idle [list catch [list close $chan]]
	    }
	}
    }
}

# ==========================================================================
# Clients in Tcl (our package): the steady connections and the Tcl churn.
# ==========================================================================

namespace eval soak::client {
    variable certdir
    variable port
    variable cbport
    variable tally		;# kind,outcome -> count
    variable state		;# chan -> dict
    variable stopping 0
}

proc soak::client::count {kind outcome} {
    variable tally
    set key [list $kind [::soak::normalize $outcome]]
    if {[info exists tally($key)]} {
	incr tally($key)
    } else {
	set tally($key) 1
    }
}

proc soak::client::tlsOptions {which} {
    variable certdir
    set opts [list -cafile [file join $certdir ca.pem] -require 1 \
	-servername localhost]
    switch -- $which {
	good {
	    lappend opts -certfile [file join $certdir client.pem] \
		-keyfile [file join $certdir client.key]
	}
	selfsigned {
	    lappend opts -certfile [file join $certdir selfsigned.pem] \
		-keyfile [file join $certdir selfsigned.key]
	}
	none {}
    }
    return $opts
}

# A line of a given size, its content a function of id and seq.  Every
# 64th line (the 2nd first, so that the warm-up sees them too) is a large
# one, over a TLS record.
proc soak::client::payload {id seq} {
    set n [expr {($id * 31 + $seq * 17) % 300}]
    if {$seq % 64 == 2} {
	set n [expr {20000 + $id % 1000}]
    }
    set ch [format %c [expr {97 + ($id + $seq) % 26}]]
    return "$id $seq [string repeat $ch $n]"
}

proc soak::client::watchdog {timeout role} {
    after [expr {$timeout * 1000}] [list apply {{role} {
	puts stderr "$role: watchdog: still running after the time limit"
	exit 3
    }} $role]
}

proc soak::client::report {} {
    variable tally
    puts [list RESULT [array get tally]]
    flush stdout
}

# --- steady connections ----------------------------------------------------
#
# Opens count connections (16 in flight), prints READY, then each echoes a
# line every interval ms until STOP on stdin; then all close and RESULT is
# printed: per-connection outcome ok, or what went wrong.

namespace eval soak::client {
    variable steadyInterval
    variable steadyOpened 0
    variable steadyPending 0
    variable steadyNext 0
    variable steadyCount
    variable echoes 0
    variable wrong 0
    variable late 0
    variable maxRtt 0
}

proc soak::client::steady {timeout count interval} {
    variable steadyInterval $interval
    variable steadyCount $count
    watchdog $timeout steady
    fileevent stdin readable ::soak::client::steadyControl
    for {set i 0} {$i < 16} {incr i} {
	steadyOpen
    }
    vwait ::soak::client::finished
    report
}

proc soak::client::steadyOpen {} {
    variable steadyNext
    variable steadyCount
    variable steadyPending
    variable state
    variable port
    if {$steadyNext >= $steadyCount} return
    set id [incr steadyNext]
    if {[catch {
	tls::socket -myaddr [::soak::addrOf steady] {*}[tlsOptions good] \
	    127.0.0.1 $port
    } chan]} {
	count steady "error:$chan"
	steadyOpened
	return
    }
    incr steadyPending
    fconfigure $chan -blocking 0 -buffering line -translation binary
    set state($chan) [dict create id $id seq 0 expect {} sent 0 bad 0]
    fileevent $chan readable [list ::soak::client::steadyRead $chan]
    steadySend $chan
}

# One connection has its first echo (or failed): open the next.
proc soak::client::steadyOpened {} {
    variable steadyOpened
    variable steadyCount
    incr steadyOpened
    if {$steadyOpened == $steadyCount} {
	puts "READY $steadyCount"
	flush stdout
    }
    steadyOpen
}

proc soak::client::steadySend {chan} {
    variable state
    variable stopping
    if {$stopping || ![info exists state($chan)]} return
    set s $state($chan)
    if {[dict get $s expect] ne ""} {
	# No echo yet for the last line.
	variable late
	incr late
	if {[clock milliseconds] - [dict get $s sent] > 15000} {
	    steadyFail $chan "echo timeout (15 s)"
	    return
	}
    } else {
	dict incr s seq
	set line [payload [dict get $s id] [dict get $s seq]]
	dict set s expect $line
	dict set s sent [clock milliseconds]
	set state($chan) $s
	if {[catch {puts $chan $line} err]} {
	    steadyFail $chan "error:$err"
	    return
	}
    }
    variable steadyInterval
    dict set state($chan) timer [after $steadyInterval \
	[list ::soak::client::steadySend $chan]]
}

proc soak::client::steadyRead {chan} {
    variable state
    variable echoes
    variable wrong
    variable maxRtt
    variable steadyPending
    while 1 {
	if {[catch {gets $chan line} n]} {
	    steadyFail $chan "error:$n"
	    return
	}
	if {$n < 0} break
	set s $state($chan)
	if {$line ne [dict get $s expect]} {
	    incr wrong
	    dict incr s bad
	} else {
	    incr echoes
	    set rtt [expr {[clock milliseconds] - [dict get $s sent]}]
	    if {$rtt > $maxRtt} {set maxRtt $rtt}
	}
	if {[dict get $s seq] == 1} {
	    # The first echo: this connection is open.
	    incr steadyPending -1
	    after idle ::soak::client::steadyOpened
	}
	dict set s expect {}
	set state($chan) $s
	steadyMaybeClose $chan
    }
    if {[eof $chan]} {
	steadyFail $chan eof
    }
}

proc soak::client::steadyFail {chan outcome} {
    variable state
    if {![info exists state($chan)]} return
    set s $state($chan)
    catch {after cancel [dict get $s timer]}
    unset state($chan)
    if {[dict get $s seq] <= 1 && [dict get $s expect] ne ""} {
	variable steadyPending
	incr steadyPending -1
	after idle ::soak::client::steadyOpened
    }
    count steady $outcome
    catch {close $chan}
    steadyCheckDone
}

# While stopping: a connection whose last echo came closes.
proc soak::client::steadyMaybeClose {chan} {
    variable stopping
    variable state
    if {!$stopping || [dict get $state($chan) expect] ne ""} return
    set s $state($chan)
    catch {after cancel [dict get $s timer]}
    unset state($chan)
    if {[dict get $s bad]} {
	count steady "wrong echo"
    } elseif {[catch {close $chan} err]} {
	count steady "close-error:$err"
    } else {
	count steady ok
    }
    steadyCheckDone
}

proc soak::client::steadyCheckDone {} {
    variable stopping
    variable state
    if {$stopping && [array size state] == 0} {
	set ::soak::client::finished 1
    }
}

proc soak::client::steadyControl {} {
    variable stopping
    variable state
    variable echoes
    variable wrong
    variable late
    variable maxRtt
    if {[gets stdin line] < 0} {
	if {[eof stdin]} {exit 4}
	return
    }
    switch -- $line {
	STATS {
	    puts [list STATS open [array size state] echoes $echoes \
		wrong $wrong late $late maxrtt $maxRtt]
	    flush stdout
	}
	STOP {
	    set stopping 1
	    foreach chan [array names state] {
		steadyMaybeClose $chan
	    }
	    # Echoes still on their way: at most 15 s more.
	    after 15000 {
		foreach chan [array names ::soak::client::state] {
		    ::soak::client::steadyFail $chan "no echo after STOP"
		}
	    }
	    steadyCheckDone
	}
    }
}

# --- Tcl churn ---------------------------------------------------------------
#
# Runs a schedule of connections (kind list), `parallel` at a time, each
# event-driven with a 10 s limit; prints PROGRESS and, at the end, RESULT.

namespace eval soak::client {
    variable schedule
    variable scheduled 0
    variable done 0
    variable inFlight 0
    variable parallel
}

proc soak::client::churn {timeout parallel_ schedule_} {
    variable schedule $schedule_
    variable parallel $parallel_
    watchdog $timeout churn
    fileevent stdin readable {
	if {[gets stdin line] < 0 && [eof stdin]} {exit 4}
    }
    progress
    churnNext
    vwait ::soak::client::finished
    report
}

proc soak::client::progress {} {
    variable done
    puts "PROGRESS $done"
    flush stdout
    after 2000 ::soak::client::progress
}

proc soak::client::churnNext {} {
    variable schedule
    variable scheduled
    variable inFlight
    variable parallel
    variable done
    while {$inFlight < $parallel && $scheduled < [llength $schedule]} {
	set kind [lindex $schedule $scheduled]
	incr scheduled
	incr inFlight
	churnStart $kind $scheduled
    }
    if {$inFlight == 0 && $scheduled >= [llength $schedule]} {
	set ::soak::client::finished 1
    }
}

proc soak::client::churnStart {kind i} {
    variable port
    variable cbport
    variable state
    set p $port
    set which good
    set extra {}
    if {[::soak::kindInfo $kind listener] eq "cb"} {
	set p $cbport
    }
    switch -- $kind {
	wrongcert-tcl {
	    set which [lindex {selfsigned none} [expr {$i % 2}]]
	}
	cbc-close-hs {
	    set extra [list -command ::soak::client::clientCommand]
	}
	cbc-unimport-verify {
	    set extra [list -validatecommand ::soak::client::clientValidate]
	}
    }
    # cbc-unimport-verify, every other one: nothing written before the
    # handshake (the package's timer starts it), so the unimport finds
    # no data that would leave unencrypted.
    set write [expr {$kind ne "cbc-unimport-verify" || $i % 2}]
    if {[catch {
	tls::socket -myaddr [::soak::addrOf $kind] {*}[tlsOptions $which] \
	    {*}$extra 127.0.0.1 $p
    } chan]} {
	churnEnd {} $kind "error:$chan"
	return
    }
    set line [payload $i 1]
    set state($chan) [dict create kind $kind expect $line \
	timer [after 10000 [list ::soak::client::churnEnd $chan $kind timeout]]]
    fconfigure $chan -blocking 0 -buffering line -translation binary
    fileevent $chan readable [list ::soak::client::churnRead $chan]
    if {$write && [catch {puts $chan $line} err]} {
	churnEnd $chan $kind "error:$err"
    }
}

proc soak::client::churnRead {chan} {
    variable state
    if {![info exists state($chan)]} return
    set kind [dict get $state($chan) kind]
    if {[catch {gets $chan line} n]} {
	churnEnd $chan $kind "error:$n"
    } elseif {$n >= 0} {
	if {$line eq [dict get $state($chan) expect]} {
	    churnEnd $chan $kind ok
	} else {
	    churnEnd $chan $kind "wrong echo"
	}
    } elseif {[eof $chan]} {
	churnEnd $chan $kind eof
    }
}

# Counts the outcome; closes the channel (chan "" when there is none).
proc soak::client::churnEnd {chan kind outcome {close 1}} {
    variable state
    variable inFlight
    variable done
    if {$chan ne ""} {
	if {![info exists state($chan)]} return
	after cancel [dict get $state($chan) timer]
	unset state($chan)
	if {$close && [catch {close $chan} err] && $outcome eq "ok"} {
	    set outcome "close-error:$err"
	}
    }
    count $kind $outcome
    incr inFlight -1
    incr done
    after idle ::soak::client::churnNext
}

# cbc-close-hs: the client's own -command closes the channel.
proc soak::client::clientCommand {form chan args} {
    variable state
    if {$form ne "info" || ![info exists state($chan)]} return
    lassign $args major minor
    if {$major eq "handshake" && $minor eq "done"} {
	set kind [dict get $state($chan) kind]
	if {[catch {close $chan} err]} {
	    churnEnd $chan $kind "cb-close-error:$err" 0
	} else {
	    churnEnd $chan $kind cb:close 0
	}
    }
}

# cbc-unimport-verify: the client's own -validatecommand unimports the
# channel at the server's certificate; the plain socket is closed after.
proc soak::client::clientValidate {form chan args} {
    variable state
    if {$form ne "verify"} {return 1}
    lassign $args depth cert status
    if {$depth == 0 && [info exists state($chan)]} {
	set kind [dict get $state($chan) kind]
	fileevent $chan readable {}
	if {[catch {tls::unimport $chan} err]} {
	    churnEnd $chan $kind "cb:unimport refused: $err" 0
	} else {
	    churnEnd $chan $kind cb:unimport 0
	}
	after idle [list catch [list close $chan]]
    }
    return $status
}

# --- child entry -------------------------------------------------------------

proc soak::child {argv} {
    set opts [lassign $argv role]
    set pkgdir [dict get $opts pkgdir]
    if {$pkgdir ne ""} {
	apply {{dir} {source [file join $dir pkgIndex.tcl]}} $pkgdir
    }
    package require tls
    set ::soak::client::certdir [dict get $opts certdir]
    switch -- $role {
	server {
	    server::main [dict get $opts certdir] [dict get $opts timeout]
	}
	steady {
	    set ::soak::client::port [dict get $opts port]
	    client::steady [dict get $opts timeout] [dict get $opts count] \
		[dict get $opts interval]
	}
	churn {
	    set ::soak::client::port [dict get $opts port]
	    set ::soak::client::cbport [dict get $opts cbport]
	    client::churn [dict get $opts timeout] [dict get $opts parallel] \
		[shuffled [dict get $opts counts] tcl [dict get $opts seed]]
	}
	default {
	    error "unknown role $role"
	}
    }
}

# ==========================================================================
# The parent: certificates, children, figures, verdict.
# ==========================================================================

namespace eval soak {
    variable children {}	;# names
    variable child		;# name -> dict chan pid err
    variable lines		;# name -> queued lines
    variable progress		;# name -> latest PROGRESS value
    variable tmp
    variable deadline
}

# Starts a child; `cmd` is its command line.  fds: the soft descriptor
# limit it needs (raised with ulimit, never above the hard limit).
proc soak::spawn {name cmd {fds 0}} {
    variable tmp
    variable child
    variable children
    variable lines
    set err [file join $tmp $name.err]
    if {$fds > 0} {
	set cmd [list sh -c "ulimit -n $fds && exec \"\$@\"" sh {*}$cmd]
    }
    set chan [open |[concat $cmd [list 2> $err]] r+]
    fconfigure $chan -buffering line -blocking 0
    set child($name) [dict create chan $chan pid [lindex [pid $chan] 0] err $err]
    set lines($name) {}
    lappend children $name
    fileevent $chan readable [list ::soak::childReadable $name]
    return $name
}

proc soak::spawnTcl {name role opts {fds 0}} {
    variable script
    variable pkgdir
    variable certdir
    variable childTimeout
    set opts [dict merge [list pkgdir $pkgdir certdir $certdir \
	timeout $childTimeout] $opts]
    spawn $name [list [info nameofexecutable] $script -child $role {*}$opts] $fds
}

proc soak::childReadable {name} {
    variable child
    variable lines
    variable progress
    set chan [dict get $child($name) chan]
    while {[gets $chan line] >= 0} {
	if {[lindex $line 0] eq "PROGRESS"} {
	    set progress($name) [lrange $line 1 end]
	} else {
	    lappend lines($name) $line
	}
    }
    if {[eof $chan]} {
	fileevent $chan readable {}
	dict set child($name) eof 1
    }
    set ::soak::wake 1
}

proc soak::childErrors {name {max 5}} {
    variable child
    set text ""
    catch {
	set f [open [dict get $child($name) err]]
	set text [string trim [read $f]]
	close $f
    }
    set lines [split $text \n]
    if {[llength $lines] > $max} {set lines [lrange $lines end-[expr {$max - 1}] end]}
    return [join $lines "\n      "]
}

# Waits until the run's deadline passes or `script` (evaluated in the
# caller) is true; processes events meanwhile.  Returns 0 on timeout.
proc soak::until {condition {seconds 0}} {
    variable deadline
    set limit $deadline
    if {$seconds > 0} {
	set limit [expr {min($deadline, [clock milliseconds] + $seconds * 1000)}]
    }
    while {![uplevel 1 [list expr $condition]]} {
	set left [expr {$limit - [clock milliseconds]}]
	if {$left <= 0} {return 0}
	set id [after [expr {min($left, 200)}] {set ::soak::wake 1}]
	vwait ::soak::wake
	after cancel $id
    }
    return 1
}

# The next line from child `name` whose first word is `word`.
proc soak::expect {name word {seconds 60}} {
    variable lines
    variable child
    set found {}
    set ok [until {[apply {{name word} {
	upvar #0 ::soak::lines($name) q ::soak::child($name) c
	set i [lsearch -index 0 $q $word]
	return [expr {$i >= 0 || [dict exists $c eof]}]
    }} $name $word]} $seconds]
    set i [lsearch -index 0 $lines($name) $word]
    if {$i < 0} {
	if {[dict exists $child($name) eof]} {
	    error "$name exited without $word: [childErrors $name]"
	}
	error "no $word from $name within $seconds s"
    }
    set line [lindex $lines($name) $i]
    set lines($name) [lreplace $lines($name) $i $i]
    return $line
}

proc soak::tell {name text} {
    variable child
    puts [dict get $child($name) chan] $text
}

# Server figures: a dict fds rss cpu open accepted maxopen maxfds.
proc soak::stats {} {
    tell server STATS
    return [lrange [expect server STATS 30] 1 end]
}

# Waits until the server has no connection open and its descriptors are
# back to `fds` (lingering closes end within 10 s); returns the stats.
proc soak::quiesce {{fds 0} {seconds 30}} {
    set limit [expr {[clock milliseconds] + $seconds * 1000}]
    while 1 {
	set s [stats]
	if {[dict get $s open] == 0 && ($fds == 0 || [dict get $s fds] <= $fds)} {
	    # Steady for a moment: no late close still under way.
	    after 500
	    set again [stats]
	    if {[dict get $again fds] == [dict get $s fds] && [dict get $again open] == 0} {
		return $again
	    }
	    continue
	}
	if {[clock milliseconds] > $limit} {
	    return $s
	}
	until 0 0.5
    }
}

# Stops a child: closes its stdin, waits a little, kills it by pid.
proc soak::stop {name {seconds 10}} {
    variable child
    if {![info exists child($name)]} return
    set chan [dict get $child($name) chan]
    catch {chan close $chan write}
    until {[dict exists $::soak::child($name) eof]} $seconds
    if {![dict exists $child($name) eof]} {
	catch {exec kill -9 [dict get $child($name) pid]}
    }
    fconfigure $chan -blocking 1
    dict set child($name) closed 1
    if {[catch {close $chan} err]} {
	dict set child($name) status $err
    }
}

proc soak::killAll {} {
    variable children
    variable child
    foreach name $children {
	if {![dict exists $child($name) eof] && ![dict exists $child($name) closed]} {
	    catch {exec kill -9 [dict get $child($name) pid]}
	}
    }
}

# The churn schedule: how many of each kind (weights of SOAK_CONNS), in
# a shuffled order, split by driver.
proc soak::plan {total} {
    variable kindTable
    set sum 0
    foreach {name addr driver listener weight what} $kindTable {
	if {$weight ne "-"} {incr sum $weight}
    }
    set counts {}
    set assigned 0
    foreach {name addr driver listener weight what} $kindTable {
	if {$weight eq "-"} continue
	set n [expr {$total * $weight / $sum}]
	dict set counts $name $n
	incr assigned $n
    }
    # Rounding: the first kind takes the rest.
    dict incr counts clean-tcl [expr {$total - $assigned}]
    return $counts
}

proc soak::shuffled {counts driver seed} {
    expr {srand($seed)}
    set list {}
    dict for {kind n} $counts {
	if {[kindInfo $kind driver] ne $driver} continue
	for {set i 0} {$i < $n} {incr i} {
	    lappend list [list [expr {rand()}] $kind]
	}
    }
    return [lmap pair [lsort -real -index 0 $list] {lindex $pair 1}]
}

proc soak::countsFor {counts driver} {
    set result {}
    dict for {kind n} $counts {
	if {[kindInfo $kind driver] eq $driver} {
	    dict set result $kind $n
	}
    }
    return $result
}

# Runs one churn round (Tcl churn and the Python driver at once); returns
# a dict once both are done: tallies (the Tcl churn's), python (the name
# of the Python driver, still running its slow-loris peers), seconds (the
# round), churn (until the last churn connection ended), sclient (until
# the last s_client session ended).  The steady client, if any, runs
# meanwhile and progress is printed every 10 s.
proc soak::round {label counts slow keyupdate loops reneg} {
    variable ports
    variable here
    variable certdir
    variable childTimeout
    variable progress
    variable parallel
    variable seed
    set tclCounts [countsFor $counts tcl]
    set tclTotal [tcl::mathop::+ 0 {*}[dict values $tclCounts]]
    set pyCounts [countsFor $counts py]
    set config [list port [lindex $ports 0] certdir $certdir \
	timeout $childTimeout parallel $parallel seed $seed slow $slow \
	keyupdate $keyupdate keyupdate_loops $loops reneg $reneg]
    foreach kind [kinds] {
	lappend config addr-$kind [addrOf $kind]
    }
    foreach {kind n} $pyCounts {
	lappend config count-$kind $n
    }
    set total [expr {$tclTotal + [tcl::mathop::+ 0 {*}[dict values $pyCounts]]}]
    set started [clock milliseconds]
    set names {}
    array unset progress
    if {$tclTotal} {
	spawnTcl churn-$label churn [list port [lindex $ports 0] \
	    cbport [lindex $ports 1] parallel $parallel counts $tclCounts seed $seed]
	lappend names churn-$label
    }
    spawn py-$label [list python3 [file join $here soak.py] {*}$config]
    lappend names py-$label
    # The Python driver says CHURNDONE when its churn and s_client
    # sessions are over; slow-loris peers go on until STOP.
    set tallies {}
    set pending $names
    set lastReport [clock milliseconds]
    set churn 0
    set sclient 0
    while {[llength $pending]} {
	set ok [until {[apply {{pending} {
	    foreach name $pending {
		set word [expr {[string match py-* $name] ? "CHURNDONE" : "RESULT"}]
		if {[lsearch -index 0 $::soak::lines($name) $word] >= 0
		    || [dict exists $::soak::child($name) eof]} {
		    return 1
		}
	    }
	    return 0
	}} $pending]} 10]
	if {[clock milliseconds] > $::soak::deadline} {
	    error "the round \"$label\" did not finish in time (still running: $pending)"
	}
	foreach name $pending {
	    set word [expr {[string match py-* $name] ? "CHURNDONE" : "RESULT"}]
	    if {[lsearch -index 0 $::soak::lines($name) $word] >= 0
		|| [dict exists $::soak::child($name) eof]} {
		set line [expect $name $word 1]
		if {$word eq "RESULT"} {
		    lappend tallies [lindex $line 1]
		    stop $name
		    set churn [expr {max($churn, ([clock milliseconds] - $started) / 1000.0)}]
		} else {
		    lassign $line - - pyChurn sclient
		    set churn [expr {max($churn, $pyChurn)}]
		}
		set pending [lsearch -all -inline -not -exact $pending $name]
	    }
	}
	if {[clock milliseconds] - $lastReport >= 10000 && [llength $pending]} {
	    set lastReport [clock milliseconds]
	    progressLine $label $started $total
	}
    }
    set seconds [expr {([clock milliseconds] - $started) / 1000.0}]
    return [dict create tallies $tallies python py-$label seconds $seconds \
	churn $churn sclient $sclient]
}

proc soak::progressLine {label started total} {
    variable progress
    variable steadyName
    variable samples
    set s [stats]
    set done 0
    foreach {name value} [array get progress] {
	incr done [lindex $value 0]
    }
    lappend samples($label) [list [expr {([clock milliseconds] - $started) / 1000.0}] $done [dict get $s rss]]
    set extra ""
    if {[info exists steadyName] && $steadyName ne ""} {
	tell $steadyName STATS
	set st [lrange [expect $steadyName STATS 10] 1 end]
	set extra [format ", steady: %d open, %d echoes, %d wrong" \
	    [dict get $st open] [dict get $st echoes] [dict get $st wrong]]
    }
    puts [format "  %-7s %5.0f s  %6d/%d connections; server: %d open, %d fds,\
	    RSS %d KiB, CPU %.1f s%s" $label \
	[expr {([clock milliseconds] - $started) / 1000.0}] $done $total \
	[dict get $s open] [dict get $s fds] [dict get $s rss] [dict get $s cpu] $extra]
}

# Ends a round's Python driver: STOP ends the slow-loris peers; returns
# its RESULT tally.
proc soak::endPython {name} {
    tell $name STOP
    set line [expect $name RESULT 60]
    stop $name
    return [lindex $line 1]
}

proc soak::merge {into tally} {
    upvar 1 $into acc
    foreach {key n} $tally {
	if {[info exists acc($key)]} {
	    incr acc($key) $n
	} else {
	    set acc($key) $n
	}
    }
}

proc soak::main {} {
    variable here
    variable tmp
    variable certdir
    variable pkgdir
    variable ports
    variable deadline
    variable childTimeout
    variable parallel
    variable seed
    variable expected
    variable steadyName ""
    variable child

    set conns [env SOAK_CONNS 50000]
    set idle [env SOAK_IDLE 1000]
    set interval [env SOAK_ECHO_MS 1000]
    set slow [env SOAK_SLOW 8]
    set keyupdate [env SOAK_KEYUPDATE 20]
    set loops [env SOAK_KEYUPDATE_LOOPS 100]
    set reneg [env SOAK_RENEG 20]
    set warm [env SOAK_WARMUP [expr {max(200, $conns / 50)}]]
    set parallel [env SOAK_PARALLEL 2]
    set seed [env SOAK_SEED 1]
    set timeout [env SOAK_TIMEOUT [expr {900 + $conns * 30 / 1000}]]
    set ::soak::clkTck [exec getconf CLK_TCK]
    set deadline [expr {[clock milliseconds] + $timeout * 1000}]
    # Children stop by themselves a little after the parent would.
    set childTimeout [expr {$timeout + 60}]

    set pkgdir [env TLS_OURS ""]
    if {$pkgdir eq "" && [file isfile [file join $here .. build tls pkgIndex.tcl]]} {
	set pkgdir [file join $here .. build tls]
    }
    if {$pkgdir ne ""} {set pkgdir [file normalize $pkgdir]}
    foreach tool {python3 openssl} {
	if {[auto_execok $tool] eq ""} {error "soak needs $tool"}
    }

    set tmp [file join [env TMPDIR /tmp] tls-soak-[pid]]
    file mkdir $tmp
    set certdir [file join $tmp pki]
    exec sh [file join $here .. tests certs make-pki.sh] $certdir

    # Tcl 8.6's notifier is select(): a descriptor of 1024 or more aborts
    # the process.  A soft limit of 1024 turns that into EMFILE (accept
    # waits) instead.  Tcl 9 uses epoll.
    set tcl86 [expr {[package vsatisfies [info patchlevel] 8.6] && ![package vsatisfies [info patchlevel] 9-]}]
    set hard [exec sh -c {ulimit -Hn}]
    set want [expr {$tcl86 ? 1024 : $idle + 512}]
    if {$hard ne "unlimited" && $want > $hard} {set want $hard}
    if {$tcl86 && $idle > 1000} {
	puts "warning: Tcl 8.6's select() notifier handles descriptors below 1024 only;\
		SOAK_IDLE=$idle will not fit"
    }

    set counts [plan $conns]
    set warmCounts [plan $warm]
    puts "tls soak: [exec uname -srm], [exec nproc] cpus, Tcl [info patchlevel],\
	    [expr {$tcl86 ? "select() notifier" : "epoll notifier"}]"
    puts "  $conns churn connections + $slow slow-loris + $keyupdate s_client key-update\
	    sessions ($loops updates each) + $reneg s_client renegotiation sessions,\
	    while $idle steady connections echo every $interval ms;\
	    warm-up round: $warm connections and $idle steady"

    spawnTcl server server {} $want
    set ports [lrange [expect server PORTS 60] 1 end]
    set start [stats]
    puts "  server pid [dict get $child(server) pid], ports [join $ports " and "] on 127.0.0.1,\
	    descriptor limit $want"

    # --- warm-up: every kind, the steady connections open and closed -----
    puts "warm-up round"
    spawnTcl steady-warm steady [list port [lindex $ports 0] count $idle interval $interval] $want
    set steadyName steady-warm
    expect steady-warm READY 300
    set warmReady [clock milliseconds]
    set r [round warm $warmCounts [expr {min($slow, 2)}] 2 5 2]
    # Every steady connection has sent its large line (its 2nd).
    until {[clock milliseconds] - $warmReady > 3 * $interval + 1000}
    set warmTallies [dict get $r tallies]
    set pyWarmTally [endPython [dict get $r python]]
    tell steady-warm STOP
    set steadyWarmTally [lindex [expect steady-warm RESULT 60] 1]
    stop steady-warm
    set steadyName ""
    set before [quiesce 0 30]
    tell server TALLY
    set warmServer [lindex [expect server TALLY 30] 1]
    tell server RESETPEAK
    expect server RESETPEAK 10

    # --- the soak ---------------------------------------------------------
    puts "soak round"
    set t0 [clock milliseconds]
    spawnTcl steady steady [list port [lindex $ports 0] count $idle interval $interval] $want
    set steadyName steady
    expect steady READY 300
    set openSeconds [expr {([clock milliseconds] - $t0) / 1000.0}]
    set withSteady [stats]
    set r [round soak $counts $slow $keyupdate $loops $reneg]
    set tallies [dict get $r tallies]
    set seconds [dict get $r churn]
    set churnEnd [stats]
    tell steady STATS
    set steadyStats [lrange [expect steady STATS 10] 1 end]
    set pyTally [endPython [dict get $r python]]
    tell steady STOP
    set steadyTally [lindex [expect steady RESULT 60] 1]
    stop steady
    set steadyName ""
    set after [quiesce [dict get $before fds] 30]
    tell server TALLY
    set serverAll [lindex [expect server TALLY 30] 1]
    tell server QUIT
    stop server

    # --- figures -------------------------------------------------------------
    # Client outcomes of the soak round, server outcomes of the soak
    # round (the server's tally minus the warm-up's).
    array set clientTally {}
    foreach t $tallies {merge clientTally $t}
    merge clientTally $pyTally
    merge clientTally $steadyTally
    array set serverTally {}
    merge serverTally $serverAll
    foreach {key n} $warmServer {
	incr serverTally($key) -$n
	if {$serverTally($key) == 0} {unset serverTally($key)}
    }
    # The warm-up's outcomes are checked too.
    array set warmClient {}
    foreach t $warmTallies {merge warmClient $t}
    merge warmClient $pyWarmTally
    merge warmClient $steadyWarmTally
    array set warmServerTally $warmServer

    set unexpected {}
    puts ""
    puts [format "%-20s %7s  %s" kind conns "outcomes (client | server)"]
    puts [string repeat - 100]
    set totalConns 0
    foreach kind [kinds] {
	set cl [outcomes clientTally $kind]
	set sv [outcomes serverTally $kind]
	set n [tcl::mathop::+ 0 {*}[dict values [dict filter $cl script {k v} {
	    expr {![string match note:* $k]}
	}]]]
	set ends [tcl::mathop::+ 0 {*}[dict values [dict filter $sv script {k v} {
	    expr {![string match note:* $k]}
	}]]]
	if {$kind ni {steady keyupdate reneg}} {incr totalConns $n}
	puts [format "%-20s %7d  %s | %s" $kind $n [summary $cl] [summary $sv]]
	foreach side {client server} tallyVar {clientTally serverTally} {
	    foreach {outcome count} [outcomes $tallyVar $kind] {
		if {![matches $kind $side $outcome]} {
		    lappend unexpected "$kind ($side): $outcome (x$count)"
		}
	    }
	    foreach {outcome count} [outcomes warm[string totitle $side]Tally $kind] {
		if {![matches $kind $side $outcome]} {
		    lappend unexpected "$kind ($side, warm-up): $outcome (x$count)"
		}
	    }
	}
	if {$n != $ends} {
	    lappend unexpected "$kind: the clients made $n connections, the server ended $ends"
	}
    }
    foreach t {serverTally warmServerTally} {
	foreach {key count} [array get $t] {
	    lassign $key kind outcome
	    if {$kind ni [kinds]} {
		lappend unexpected "server: $kind: $outcome (x$count)"
	    }
	}
    }
    set cps [expr {$seconds > 0 ? $totalConns / $seconds : 0}]
    set sessions [expr {[tcl::mathop::+ 0 {*}[dict values [outcomes clientTally keyupdate]]]
	+ [tcl::mathop::+ 0 {*}[dict values [outcomes clientTally reneg]]]}]
    puts ""
    puts [format "connections of the soak round: %d (%d churn and slow-loris, %d s_client\
	    sessions, %d steady); warm-up round: %d more" \
	[expr {$totalConns + $sessions + $idle}] $totalConns $sessions $idle \
	[dict get $before accepted]]
    puts [format "%-36s %10s %10s %10s %8s" "server" "fds" "RSS KiB" "CPU s" "open"]
    foreach {label s} [list "at start" $start "after warm-up (before)" $before \
			   "with $idle steady open" $withSteady \
			   "end of churn (steady still open)" $churnEnd "after (all closed)" $after] {
	puts [format "%-36s %10d %10d %10.2f %8d" $label [dict get $s fds] \
	    [dict get $s rss] [dict get $s cpu] [dict get $s open]]
    }
    puts [format "peak during the soak: %d descriptors, %d connections open" \
	[dict get $after maxfds] [dict get $after maxopen]]
    set soakCpu [expr {[dict get $after cpu] - [dict get $before cpu]}]
    set churnCpu [expr {[dict get $churnEnd cpu] - [dict get $withSteady cpu]}]
    puts ""
    puts [format "churn: %d connections in %.1f s: %.0f connections/s;\
	    s_client sessions ended after %.1f s, the round after %.1f s" \
	$totalConns $seconds $cps [dict get $r sclient] [dict get $r seconds]]
    puts [format "server CPU during the round: %.1f s (%.0f us per churn connection,\
	    the steady echoes and s_client sessions included)" $churnCpu \
	[expr {$totalConns ? $churnCpu * 1e6 / $totalConns : 0}]]
    puts [format "steady: %d connections opened in %.1f s; %d echoes right, %d wrong,\
	    %d late ticks, slowest echo %d ms" $idle $openSeconds \
	[dict get $steadyStats echoes] [dict get $steadyStats wrong] \
	[dict get $steadyStats late] [dict get $steadyStats maxrtt]]
    puts [format "server CPU for the whole soak round: %.1f s" $soakCpu]

    # Descriptors exactly back; RSS within the slack.
    set verdict PASS
    if {[dict get $after fds] != [dict get $before fds] || [dict get $after open] != 0} {
	lappend unexpected "server descriptors: [dict get $before fds] before,\
		[dict get $after fds] after ([dict get $after open] connections open)"
    }
    set slack [env SOAK_RSS_SLACK [expr {4096 + [dict get $before rss] / 50}]]
    set growth [expr {[dict get $after rss] - [dict get $before rss]}]
    puts [format "RSS: %d KiB before, %d KiB after: %+d KiB (tolerance %d KiB =\
	    4 MiB + 2%% of before, for allocator slack; %.1f bytes per connection)" \
	[dict get $before rss] [dict get $after rss] $growth $slack \
	[expr {$totalConns ? $growth * 1024.0 / ($totalConns + $idle) : 0}]]
    if {$growth > $slack} {
	lappend unexpected "server RSS grew by $growth KiB (tolerance $slack KiB)"
    }
    # Growth while the churn ran: from the first progress sample (10 s in)
    # to the end of the churn.  A leak of a few dozen bytes per connection
    # shows here.
    if {[info exists ::soak::samples(soak)]} {
	lassign [lindex $::soak::samples(soak) 0] t0 done0 rss0
	set during [expr {[dict get $churnEnd rss] - $rss0}]
	set conns [expr {$totalConns - $done0}]
	set duringSlack [env SOAK_RSS_SLACK_DURING 2048]
	puts [format "RSS during the churn: %d KiB at %.0f s (%d connections done),\
		%d KiB at its end: %+d KiB over %d connections (%.1f bytes each; tolerance %d KiB)" \
	    $rss0 $t0 $done0 [dict get $churnEnd rss] $during $conns \
	    [expr {$conns > 0 ? $during * 1024.0 / $conns : 0}] $duringSlack]
	if {$during > $duringSlack} {
	    lappend unexpected "server RSS grew by $during KiB during the churn (tolerance $duringSlack KiB)"
	}
    }
    if {[dict get $steadyStats wrong] > 0} {
	lappend unexpected "steady: [dict get $steadyStats wrong] wrong echoes"
    }
    foreach name [array names child] {
	if {[dict exists $child($name) status]} {
	    lappend unexpected "$name exited abnormally: [dict get $child($name) status]\
		    [childErrors $name]"
	}
    }
    puts ""
    if {[llength $unexpected]} {
	set verdict FAIL
	puts "unexpected:"
	foreach u $unexpected {puts "  $u"}
    } else {
	puts "unexpected: none"
    }
    puts "verdict: $verdict"
    return [expr {$verdict eq "PASS" ? 0 : 1}]
}

# outcome -> count of one kind in a tally array.
proc soak::outcomes {arrayName kind} {
    upvar 1 $arrayName tally
    set result {}
    foreach key [lsort [array names tally]] {
	lassign $key k outcome
	if {$k eq $kind} {
	    dict incr result $outcome $tally($key)
	}
    }
    return $result
}

proc soak::summary {outcomes} {
    if {![dict size $outcomes]} {return "-"}
    set parts {}
    dict for {outcome n} $outcomes {
	lappend parts "$outcome $n"
    }
    return [join $parts ", "]
}

proc soak::matches {kind side outcome} {
    variable expected
    foreach pattern [dict get $expected $kind $side] {
	if {[string match $pattern $outcome]} {return 1}
    }
    return 0
}

if {[lindex $argv 0] eq "-child"} {
    if {[catch {soak::child [lrange $argv 1 end]} err]} {
	puts stderr $::errorInfo
	exit 1
    }
    exit 0
}
set code 1
try {
    set code [soak::main]
} on error {err opts} {
    puts "soak: $err"
    puts stderr [dict get $opts -errorinfo]
    foreach name $soak::children {
	set text [soak::childErrors $name]
	if {$text ne ""} {puts "  $name stderr: $text"}
    }
    puts "verdict: FAIL"
} finally {
    soak::killAll
    if {[info exists soak::tmp]} {file delete -force $soak::tmp}
}
exit $code
