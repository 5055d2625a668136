# sessions.tcl --
#
#   What hostile peers make the package keep in memory (issue 19), with the
#   peers in Python's ssl (bench/ticket_storm.py, bench/resume_by_id.py):
#
#   client: RSS of this process before and after one connection to a TLS
#           1.3 server that sends TICKETS session tickets (20,000) and a
#           line, the channel closed;
#   server: RSS of this process, a `tls::socket -server`, while a TLS 1.2
#           client without tickets makes CONNECTIONS full handshakes (5,000),
#           each leaving a session in the server's cache, and resumes each
#           once by session id.
#
#   Prints figures only. Usage (make sessions does the first):
#     TCLLIBPATH=$PWD/build tclsh bench/sessions.tcl ?tickets? ?connections? ?-cachesize N?

set here [file dirname [file normalize [info script]]]
set tickets [expr {[llength $argv] > 0 ? [lindex $argv 0] : 20000}]
set connections [expr {[llength $argv] > 1 ? [lindex $argv 1] : 5000}]
set extra [lrange $argv 2 end]
package require tls

proc rss {} {
    set f [open /proc/self/status]
    set text [read $f]
    close $f
    regexp {VmRSS:\s+(\d+)} $text -> kb
    return [format %.1f [expr {$kb / 1024.0}]]
}

set dir [file join [expr {[info exists env(TMPDIR)] ? $env(TMPDIR) : "/tmp"}] tcltls-sessions-[pid]]
exec sh [file join [file dirname $here] tests certs make-pki.sh] $dir
puts "tls [package present tls], Tcl [info patchlevel], [tls::version]"

# --- client: a ticket storm ---
set before [rss]
set pipe [open |[list python3 [file join $here ticket_storm.py] $dir/server-chain.pem $dir/server.key $tickets 1 2>@1] r]
set port [gets $pipe]
set t0 [clock milliseconds]
set c [tls::socket -cafile $dir/ca.pem localhost $port]
set line [gets $c]
set during [rss]
close $c
close $pipe
puts [format "client: %d tickets then %s in %.1f s: RSS %s MB before, %s MB with the channel open, %s MB after close" \
    $tickets [list $line] [expr {([clock milliseconds] - $t0) / 1000.0}] $before $during [rss]]

# --- server: TLS 1.2 resumption by session id ---
proc echoAccept {chan addr port} {
    fconfigure $chan -blocking 0 -buffering line
    fileevent $chan readable [list apply {{chan} {
        if {[catch {gets $chan line} n] || ($n < 0 && [eof $chan])} {
            catch {close $chan}
        } elseif {$n >= 0} {
            puts $chan $line
        }
    }} $chan]
}
set s [tls::socket -server echoAccept -certfile $dir/server-chain.pem -keyfile $dir/server.key {*}$extra -myaddr 127.0.0.1 0]
set port [lindex [fconfigure $s -sockname] 2]
set step [expr {max(1, $connections / 5)}]
puts "server [list {*}$extra]: RSS at 0 connections: [rss] MB"
set pipe [open |[list python3 [file join $here resume_by_id.py] $port $dir/ca.pem $connections $step 2>@1] r]
fconfigure $pipe -blocking 0
set t0 [clock milliseconds]
fileevent $pipe readable {
    if {[gets $pipe progress] >= 0} {
        lassign $progress done resumed
        puts [format "server: after %d handshakes (%d resumed by id): RSS %s MB, %.0f s" $done $resumed [rss] \
            [expr {([clock milliseconds] - $t0) / 1000.0}]]
    } elseif {[eof $pipe]} {
        set ::finished 1
    }
}
vwait ::finished
close $pipe
close $s
file delete -force $dir
