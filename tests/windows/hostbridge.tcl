# hostbridge.tcl -- for the Wine test run only (tests/windows.sh): runs the
# Linux programs the suites use as peers (openssl, python3, curl) for the
# Windows Tcl, which cannot exec them, over loopback.
#
#   tclsh hostbridge.tcl TOKEN PORTFILE
#
# Listens on 127.0.0.1 (a free port, written to PORTFILE). Each connection
# sends a Tcl list {TOKEN MODE ARGS} in UTF-8, after its length in bytes
# and a newline; only the programs in
# ::allowed run, with drive-letter paths (Z:/work/...) made Unix paths:
#   exec  runs `exec ARGS` and answers {CODE RESULT} (length-prefixed);
#   pipe  opens `|ARGS` read-write, answers a line with the pipeline's
#         pids, then relays bytes both ways: EOF from the connection closes
#         the program's stdin, its end of output closes the connection.
# `kill` is only for the bridge's own children; those still running when
# the bridge ends are killed.
set token [lindex $argv 0]
set allowed {openssl python3 curl kill}
set children {}

proc unixPaths {arg} {
    regsub -all {(?i)\mz:[/\\]} $arg / arg
    return $arg
}

# Whether process $p is a child of this bridge (its parent pid, from
# /proc, is ours), so that a kill never reaches a process it did not start.
proc ourChild {p} {
    if {![string is integer -strict $p] || $p ni $::children || [catch {open /proc/$p/stat} f]} {
        return 0
    }
    set stat [read $f]
    close $f
    set fields [split [string range $stat [expr {[string last ")" $stat] + 2}] end]]
    expr {[lindex $fields 1] == [pid]}
}

proc accept {sock addr port} {
    fconfigure $sock -translation binary -blocking 1
    if {[gets $sock length] < 0 || ![string is integer -strict $length] || $length > 1048576
            || [catch {encoding convertfrom utf-8 [read $sock $length]} line]
            || [catch {lassign $line token mode args}] || $token ne $::token} {
        close $sock
        return
    }
    set args [lmap a $args {unixPaths $a}]
    set program [lindex [lsearch -inline -not -regexp $args {^-(ignorestderr|keepnewline|-)$}] 0]
    if {$program ni $::allowed} {
        reply $sock 1 "hostbridge: $program is not allowed"
        close $sock
        return
    }
    if {$program eq "kill"} {
        foreach p [lrange $args 1 end] {
            if {![string match -* $p] && ![ourChild $p]} {
                reply $sock 1 "hostbridge: $p is not a process of ours"
                close $sock
                return
            }
        }
    }
    switch -- $mode {
        exec {
            set code [catch {exec {*}$args} result]
            if {[lindex $args end] eq "&" && !$code} {
                lappend ::children {*}$result
            }
            reply $sock $code $result
            close $sock
        }
        pipe {
            if {[catch {open |$args r+} pipe]} {
                puts $sock [list error $pipe]
                close $sock
                return
            }
            lappend ::children {*}[pid $pipe]
            puts $sock [list ok [pid $pipe]]
            flush $sock
            foreach c [list $sock $pipe] {
                fconfigure $c -translation binary -blocking 0 -buffering none
            }
            fileevent $sock readable [list relay $sock $pipe toPipe]
            fileevent $pipe readable [list relay $pipe $sock toSock]
        }
        default {
            close $sock
        }
    }
}

proc reply {sock code result} {
    set text [list $code $result]
    puts -nonewline $sock "[string length $text]\n$text"
    flush $sock
}

proc relay {from to direction} {
    if {[catch {read $from} data] || ([string length $data] == 0 && [eof $from])} {
        fileevent $from readable {}
        if {$direction eq "toPipe"} {
            # The Windows side closed (or half-closed): end the stdin.
            catch {chan close $to write}
        } else {
            catch {close $from}
            catch {close $to}
        }
        return
    }
    catch {puts -nonewline $to $data}
}

set listener [socket -server accept -myaddr 127.0.0.1 0]
set f [open [lindex $argv 1] w]
puts $f [lindex [fconfigure $listener -sockname] 2]
close $f
# Ends when its stdin does (tests/windows.sh holds it open).
fileevent stdin readable {
    if {[eof stdin] || [catch {read stdin}]} {set ::done 1}
}
vwait ::done
foreach p $children {
    if {[ourChild $p]} {
        catch {exec kill $p}
    }
}
