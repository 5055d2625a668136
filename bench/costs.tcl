# costs.tcl --
#
#	The processes bench/costs.sh runs under valgrind's callgrind to count
#	the instructions a server spends per echoed message and per handshake.
#	Not run on its own; see bench/README.md ("make costs").
#
#	  tclsh costs.tcl server IMPL CERTDIR
#	      an event-driven echo server (IMPL plain or tls) on 127.0.0.1,
#	      port 0; prints the port, exits when stdin closes
#	  tclsh costs.tcl echo IMPL CERTDIR PORT CONNS MSGS
#	      CONNS connections, each echoing MSGS lines of 48 bytes, all at once
#	  tclsh costs.tcl handshakes CERTDIR PORT COUNT MODE
#	      COUNT connections one after the other, each a handshake, one echo
#	      and a close; MODE full offers no session, resumed the package's
#	      default (the last session for this server)

lassign $argv role impl certdir

proc listen {impl certdir command} {
    if {$impl eq "plain"} {
	return [socket -server $command -myaddr 127.0.0.1 0]
    }
    tls::socket -server $command -certfile $certdir/server.pem \
	-keyfile $certdir/server.key -myaddr 127.0.0.1 0
}

proc connect {impl certdir port args} {
    if {$impl eq "plain"} {
	return [socket 127.0.0.1 $port]
    }
    tls::socket -cafile $certdir/ca.pem -servername localhost {*}$args \
	127.0.0.1 $port
}

proc echo {chan} {
    while {1} {
	if {[catch {gets $chan line} n]} {
	    close $chan
	    return
	}
	if {$n < 0} {
	    break
	}
	puts $chan $line
    }
    if {[eof $chan]} {
	close $chan
    }
}

proc accept {chan addr port} {
    fconfigure $chan -translation binary -blocking 0 -buffering line
    fileevent $chan readable [list echo $chan]
}

proc reply {chan} {
    if {[gets $chan line] < 0} {
	if {[eof $chan]} {
	    error "server closed $chan"
	}
	return
    }
    if {[incr ::count($chan)] >= $::msgs} {
	close $chan
	if {[incr ::left -1] == 0} {
	    set ::done 1
	}
	return
    }
    puts $chan [format "message %6d from the client...................." \
	$::count($chan)]
}

if {$impl ne "plain"} {
    package require tls
}

switch -- $role {
    server {
	set listener [listen $impl $certdir accept]
	puts [lindex [fconfigure $listener -sockname] 2]
	flush stdout
	fileevent stdin readable {
	    if {[gets stdin line] < 0} {
		exit 0
	    }
	}
	vwait forever
    }
    echo {
	lassign [lrange $argv 3 end] port conns ::msgs
	set ::left 0
	set chans {}
	for {set i 0} {$i < $conns} {incr i} {
	    set chan [connect $impl $certdir $port]
	    fconfigure $chan -translation binary -blocking 0 -buffering line
	    set ::count($chan) 0
	    incr ::left
	    lappend chans $chan
	}
	# Handshakes first: one echo each, so that what follows is messages.
	foreach chan $chans {
	    puts $chan hello
	}
	foreach chan $chans {
	    # A TLS channel's line sits in Tcl's buffer until the handshake
	    # is done: flush it in blocking mode, which completes the handshake.
	    fconfigure $chan -blocking 1
	    flush $chan
	    gets $chan
	    fconfigure $chan -blocking 0
	}
	foreach chan $chans {
	    fileevent $chan readable [list reply $chan]
	    puts $chan [format "message %6d from the client...................." 0]
	}
	vwait ::done
	puts "[expr {$conns * $::msgs}] messages echoed"
    }
    handshakes {
	# argv: handshakes CERTDIR PORT COUNT MODE (no IMPL: always tls)
	lassign $argv - certdir port count mode
	package require tls
	set opts {}
	if {$mode eq "full"} {
	    # An id no server knows: the client offers no session.
	    set opts {-session_id no-such-session}
	}
	set resumed 0
	for {set i 0} {$i < $count} {incr i} {
	    set chan [connect tls $certdir $port {*}$opts]
	    fconfigure $chan -buffering line
	    puts $chan "hello $i"
	    gets $chan
	    incr resumed [dict get [tls::connection $chan] session_reused]
	    close $chan
	}
	puts "$count connections, $resumed resumed"
    }
}
