# scan_server.tcl --
#
#   The server that `make scan` (tools/scan.py) points scanners at: a
#   `tls::socket -server` on 127.0.0.1 that answers each request as
#   `openssl s_server -www` does (an HTTP/1.0 reply, then close), with the
#   package's defaults and no option beyond the certificate and key.
#
#   tclsh tools/scan_server.tcl CERTFILE KEYFILE ?-option value ...?
#
#   Prints the port, then serves until its stdin closes.

package require tls
lassign $argv certfile keyfile
set options [lrange $argv 2 end]

proc accept {chan addr port} {
    fconfigure $chan -blocking 0 -translation binary
    set ::request($chan) ""
    fileevent $chan readable [list request $chan]
}

proc request {chan} {
    if {[catch {read $chan} data]} {
        finish $chan
        return
    }
    append ::request($chan) $data
    if {[regexp {\r?\n\r?\n} $::request($chan)]} {
        fileevent $chan readable {}
        catch {
            puts -nonewline $chan "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<HTML><BODY>tls [package present tls]</BODY></HTML>\r\n"
            flush $chan
        }
        finish $chan
    } elseif {[eof $chan] || [string length $::request($chan)] > 65536} {
        finish $chan
    }
}

proc finish {chan} {
    unset -nocomplain ::request($chan)
    catch {close $chan}
}

set server [tls::socket -server accept -certfile $certfile -keyfile $keyfile {*}$options -myaddr 127.0.0.1 0]
puts [lindex [fconfigure $server -sockname] 2]
flush stdout
fconfigure stdin -blocking 0
fileevent stdin readable {
    if {[read stdin] eq "" && [eof stdin]} {
        set ::done 1
    }
}
vwait ::done
close $server
