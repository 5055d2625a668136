# pki.tcl --
#
#   Sourced by the test files: loads tcltest and the package from build/,
#   makes the test PKI (certs/make-pki.sh) in a temporary directory, and
#   offers small loopback helpers. Sets ::pki to the PKI directory.

package require tcltest 2.5
namespace import -force ::tcltest::*

set ::testDir [file dirname [file normalize [info script]]]
# TLS_TEST_BUILD_DIR: where the package folder tls/ is, if not build/
# (tests/windows.sh points it at build/windows).
if {[info exists ::env(TLS_TEST_BUILD_DIR)]} {
    set ::buildDir [file normalize $::env(TLS_TEST_BUILD_DIR)]
} else {
    set ::buildDir [file join [file dirname $::testDir] build]
}
# The library files pkgIndex.tcl loads for Tcl 8.6 and for Tcl 9.
if {$::tcl_platform(platform) eq "windows"} {
    set ::libFiles {tcltls.dll tcl9tls.dll}
} else {
    set ::libFiles {libtcltls.so libtcl9tls.so}
}
if {$::buildDir ni $::auto_path} {
    set ::auto_path [linsert $::auto_path 0 $::buildDir]
}
package require tls

# TLS_TEST_TMPDIR (tests/windows.sh: TMPDIR is Wine's own business), else
# TMPDIR, else /tmp.
if {[info exists ::env(TLS_TEST_TMPDIR)]} {
    set ::tmp $::env(TLS_TEST_TMPDIR)
} else {
    set ::tmp [expr {[info exists ::env(TMPDIR)] ? $::env(TMPDIR) : "/tmp"}]
}
temporaryDirectory $::tmp
# TLS_TEST_PKI: a PKI made beforehand by certs/make-pki.sh (the Windows
# run under Wine cannot exec it; tests/windows.sh makes it on the Linux
# side). It is left in place.
if {![info exists ::pki] && [info exists ::env(TLS_TEST_PKI)]} {
    set ::pki [file normalize $::env(TLS_TEST_PKI)]
}
if {![info exists ::pki]} {
    set ::pki [file join $::tmp tcltls-pki-[pid]]
    exec sh [file join $::testDir certs make-pki.sh] $::pki
}

# TLS_TEST_HOSTBRIDGE=PORT:TOKEN (tests/windows.sh, the Windows Tcl under
# Wine): the Linux programs the tests use as peers (openssl, python3,
# curl) run on the Linux side through tests/windows/hostbridge.tcl, as if
# exec'd: `exec` of them, `open |` pipelines of them (a socket to the
# program's stdin and stdout, whose `pid` is the Linux pid) and
# `auto_execok`, so the tests that need them run here too.
if {[info exists ::env(TLS_TEST_HOSTBRIDGE)]} {
    lassign [split $::env(TLS_TEST_HOSTBRIDGE) :] ::hostPort ::hostToken
    set ::hostTools {openssl python3 curl kill}
    proc hostTool {words} {
        set program [lindex [lsearch -inline -not -regexp $words {^-(ignorestderr|keepnewline|-)$}] 0]
        expr {$program in $::hostTools}
    }
    # Sends a request to the bridge; returns the socket once its first
    # reply line has come, with that line in the variable lineVar. Under
    # Wine a fresh connection to the bridge now and then ends before the
    # bridge's reply has come (seen only on a loaded machine, in about one
    # full run of the suite in three, never on a reply to a TLS channel of
    # the package); that request is made again, at most twice, and said on
    # stderr. The tests' own assertions are not retried.
    proc hostRequest {mode words lineVar} {
        upvar 1 $lineVar line
        set request [encoding convertto utf-8 [list $::hostToken $mode $words]]
        for {set try 1} {1} {incr try} {
            set sock [socket 127.0.0.1 $::hostPort]
            fconfigure $sock -translation binary
            puts -nonewline $sock "[string length $request]\n$request"
            flush $sock
            if {[gets $sock line] >= 0 || $try > 2} {
                return $sock
            }
            close $sock
            puts stderr "hostbridge: no reply to $mode [lrange $words 0 1] ...; asking again"
            after 100
        }
    }
    # Closes a bridge socket a second later, not now: Tcl for Windows may
    # still have the bridge's FD_CLOSE for it queued, and would take it for
    # one of a new socket that got the same handle value (a fresh
    # connection then reads EOF at once); Wine reuses handle values at
    # once. A test's cleanup may close it meanwhile, and its name may then
    # be another channel's: only the same connection (local port, and the
    # bridge's port) is closed.
    proc hostCloseLater {sock} {
        set id [list [lindex [fconfigure $sock -sockname] 2] $::hostPort]
        after 1000 [list apply {{sock id} {
            if {![catch {list [lindex [fconfigure $sock -sockname] 2] [lindex [fconfigure $sock -peername] 2]} now]
                    && $now eq $id} {
                catch {close $sock}
            }
        }} $sock $id]
    }
    # A path as the Linux side sees it, for the files the tests write for
    # those programs (arguments are translated by the bridge).
    proc hostPath {path} {
        regsub -all {(?i)\mz:[/\\]} $path / path
        return $path
    }
    rename exec ::tcl::winExec
    proc exec {args} {
        if {![hostTool $args]} {
            return [uplevel 1 [list ::tcl::winExec {*}$args]]
        }
        set sock [hostRequest exec $args length]
        set reply [read $sock $length]
        hostCloseLater $sock
        lassign $reply code result
        return -code [expr {$code ? "error" : "ok"}] $result
    }
    rename open ::tcl::winOpen
    proc open {args} {
        set name [lindex $args 0]
        if {![string match |* $name] || ![hostTool [string range $name 1 end]]} {
            return [uplevel 1 [list ::tcl::winOpen {*}$args]]
        }
        set sock [hostRequest pipe [string range $name 1 end] line]
        lassign $line status pids
        if {$status ne "ok"} {
            close $sock
            return -code error $pids
        }
        set ::hostPids($sock) $pids
        return $sock
    }
    rename pid ::tcl::winPid
    proc pid {args} {
        if {[llength $args] == 1 && [info exists ::hostPids([lindex $args 0])]} {
            return $::hostPids([lindex $args 0])
        }
        return [uplevel 1 [list ::tcl::winPid {*}$args]]
    }
    rename auto_execok ::tcl::winAutoExecok
    proc auto_execok {name} {
        if {$name in $::hostTools} {
            return [list $name]
        }
        return [::tcl::winAutoExecok $name]
    }
}

if {![llength [info commands hostPath]]} {
    proc hostPath {path} {
        return $path
    }
}

foreach tool {openssl python3 curl} {
    testConstraint $tool [expr {[auto_execok $tool] ne ""}]
}
testConstraint thread [expr {![catch {package require Thread}]}]

# A plain listening socket on 127.0.0.1; returns {server port}.
proc listen {command} {
    set s [socket -server $command -myaddr 127.0.0.1 0]
    return [list $s [lindex [fconfigure $s -sockname] 2]]
}

# Time limits (the longest a test waits for something that should happen)
# are multiplied by TLS_TEST_TIMEOUT_SCALE when it is set: `make memcheck`
# runs the interpreter under valgrind, many times slower. Only limits whose
# expiry means failure are scaled, never a duration a test is about.
set ::timeoutScale 1
if {[info exists ::env(TLS_TEST_TIMEOUT_SCALE)] && [string is double -strict $::env(TLS_TEST_TIMEOUT_SCALE)]
        && $::env(TLS_TEST_TIMEOUT_SCALE) >= 1} {
    set ::timeoutScale $::env(TLS_TEST_TIMEOUT_SCALE)
}
proc limit {ms} {
    expr {int($ms * $::timeoutScale)}
}

# Waits for a variable with a time limit (scaled); returns its value or
# "timeout".
proc waitFor {varName {ms 5000}} {
    upvar #0 $varName var
    if {![info exists var]} {
        set id [after [limit $ms] [list set ::$varName timeout]]
        vwait ::$varName
        after cancel $id
    }
    return $var
}

# Closes channels, ignoring the ones already closed.
proc closeAll {args} {
    foreach c $args {
        catch {close $c}
    }
}

# A connected pair of plain sockets in this interpreter: {client server}.
proc socketPair {} {
    unset -nocomplain ::accepted
    lassign [listen {apply {{c a p} {set ::accepted $c}}}] l port
    set client [socket 127.0.0.1 $port]
    waitFor accepted
    close $l
    return [list $client $::accepted]
}

# A plain relay on 127.0.0.1 to 127.0.0.1:$port that keeps what clients
# send in ::tapped (what went over the wire); returns {listener port}.
proc wireTap {port} {
    set ::tapped ""
    return [listen [list apply {{port c a p} {
        set up [socket 127.0.0.1 $port]
        foreach {from to} [list $c $up $up $c] {
            fconfigure $from -translation binary -blocking 0
        }
        fileevent $c readable [list wireRelay $c $up 1]
        fileevent $up readable [list wireRelay $up $c 0]
    }} $port]]
}
proc wireRelay {from to record} {
    set data [read $from]
    if {$record} {append ::tapped $data}
    catch {puts -nonewline $to $data; flush $to}
    if {[eof $from]} {closeAll $from $to}
}

# Runs a Tcl script in a child tclsh (with the package on its path and
# [limit] defined) in the background; returns the pipe. The script's stdout
# is the pipe's input.
proc childTcl {script args} {
    set prologue "set auto_path [list [linsert $::auto_path 0 $::buildDir]]\n"
    append prologue "set ::timeoutScale $::timeoutScale\n" [list proc limit [info args limit] [info body limit]] \n
    set file [makeFile $prologue$script child-[pid]-[incr ::childCount].tcl]
    return [open |[list [info nameofexecutable] $file {*}$args 2>@1] r+]
}

# Reads a child's output to its end (with a time limit, scaled).
proc childOutput {pipe {ms 30000}} {
    fconfigure $pipe -blocking 0
    set ::childBuf($pipe) {}
    fileevent $pipe readable [list apply {{p} {
        append ::childBuf($p) [read $p]
        if {[eof $p]} {set ::childDone($p) 1}
    }} $pipe]
    set id [after [limit $ms] [list set ::childDone($pipe) timeout]]
    vwait ::childDone($pipe)
    after cancel $id
    catch {close $pipe}
    return $::childBuf($pipe)
}

# --- loopback servers and tools --------------------------------------

# A TLS server on 127.0.0.1, port 0, with the test server's chain;
# returns {listener port}.
proc tlsServer {handler args} {
    set s [tls::socket -server $handler -certfile $::pki/server-chain.pem \
        -keyfile $::pki/server.key {*}$args -myaddr 127.0.0.1 0]
    return [list $s [lindex [fconfigure $s -sockname] 2]]
}

# An accept handler that echoes every line back.
proc echoAccept {chan addr port} {
    fconfigure $chan -blocking 0 -buffering line
    fileevent $chan readable [list echoLine $chan]
}
proc echoLine {chan} {
    if {[catch {gets $chan line} n] || ($n < 0 && [eof $chan])} {
        catch {close $chan}
        return
    }
    if {$n >= 0} {
        puts $chan $line
    }
}

# A free loopback port (for servers that cannot report the one they got).
proc freePort {} {
    set s [socket -server {} -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $s -sockname] 2]
    close $s
    return $port
}

# Waits (5 s at most) until something accepts connections on the port.
proc waitListening {port} {
    for {set i 0} {$i < 200} {incr i} {
        if {![catch {socket 127.0.0.1 $port} probe]} {
            close $probe
            return 1
        }
        after 25
    }
    return 0
}

proc cleanupPki {} {
    if {[info exists ::pki] && [string match *tcltls-pki-[pid] $::pki]} {
        file delete -force $::pki
    }
}
