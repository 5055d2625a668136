# tls.tcl --
#
#   The script-level part of the `tls` package: tls::socket and tls::init,
#   which are easier in Tcl, and the sample callbacks the manual describes.
#   Sourced by pkgIndex.tcl after the shared library is loaded.

namespace eval ::tls {
    # Options given to tls::init, used by every tls::socket.
    variable defaults {}
    # Verbosity of the sample callbacks below (see the manual's Debug
    # section); not recommended. tls::log passes messages up to this
    # level to the command prefix logcmd (TclTLS's tclLog by default).
    variable debug 0
    variable logcmd tclLog
    # The command that makes the underlying TCP socket.
    variable socketCmd ::socket
}

# tls::init ?-option value ...?
#   Sets the default options of tls::socket (replacing earlier ones).
proc ::tls::init {args} {
    variable defaults
    if {[llength $args] % 2} {
        return -code error -errorcode [list TLS OPTION [lindex $args end]] \
            "value for \"[lindex $args end]\" missing"
    }
    set defaults $args
    return
}

# The options of tls::socket beyond tls::import's, by role, for parsing
# and for TclTLS's error messages.
namespace eval ::tls {
    # tls::import's options (src/config.rs), without -server, which
    # tls::socket takes for itself.
    variable importOptions {
        -alpn -cachesize -cadir -cafile -castore -cert -certfile -cipher -ciphersuites
        -command -dhparams -key -keyfile -model -password -post_handshake
        -request -require -security_level -servername -session_id -ssl2
        -ssl3 -tls1 -tls1.1 -tls1.2 -tls1.3 -validatecommand
        -crlcheck -crlfile -groups -keylog -pin -pkcs12 -sni -timeout
    }
    # The second spellings tls::import also accepts.
    variable importAliases {-ciphers -securitylevel -vcmd -validate_command -callback}
    variable socketOptions {
        0 {-async -autoservername -myaddr -myport -server}
        1 {-myaddr -server}
    }
}

# tls::socket ?-option value ...? host port
# tls::socket -server command ?-option value ...? port
#   Like the Tcl socket command, with every tls::import option, plus
#   -autoservername (default true unless -servername is given). Argument
#   errors read as Tcl's socket command and TclTLS write them.
proc ::tls::socket {args} {
    variable socketCmd
    variable importOptions
    variable importAliases
    variable socketOptions
    variable defaults
    set server [expr {"-server" in $args}]
    set valid [lsort [concat [dict get $socketOptions $server] $importOptions]]
    # tls::init's options come first, so the call's own win; a server
    # skips the ones only clients take.
    set initial {}
    foreach {option value} $defaults {
        if {$server && $option ni $valid && $option ni $importAliases} continue
        lappend initial $option $value
    }
    set args [concat $initial $args]
    set choices "[join [lrange $valid 0 end-1] {, }], or [lindex $valid end]"
    if {$server} {
        set usage "wrong # args: should be \"tls::socket -server command ?options? port\""
    } else {
        set usage "wrong # args: should be \"tls::socket ?options? host port\""
    }
    set socketArgs {}
    set importArgs {}
    set autoservername 1
    set haveServername 0
    set argc [llength $args]
    for {set i 0} {$i < $argc} {incr i} {
        set option [lindex $args $i]
        if {![string match -* $option]} {
            break
        }
        if {$option ni $valid && $option ni $importAliases} {
            return -code error -errorcode [list TLS OPTION $option] \
                "bad option \"$option\": must be one of $choices"
        }
        if {$option eq "-async"} {
            lappend socketArgs -async
            continue
        }
        if {$i + 1 >= $argc} {
            if {$option eq "-server"} {
                return -code error -errorcode {TLS OPTION WRONGARGS} $usage
            }
            return -code error -errorcode [list TLS OPTION $option] \
                "\"$option\" option must be followed by value"
        }
        set value [lindex $args [incr i]]
        switch -exact -- $option {
            -server {
                set callback $value
            }
            -myaddr - -myport {
                lappend socketArgs $option $value
            }
            -autoservername {
                if {![string is boolean -strict $value]} {
                    return -code error -errorcode {TLS VALUE -autoservername} \
                        "expected boolean value for -autoservername but got \"$value\""
                }
                set autoservername $value
            }
            default {
                if {$option eq "-servername"} {
                    set haveServername 1
                }
                lappend importArgs $option $value
            }
        }
    }
    set rest [lrange $args $i end]
    if {$server} {
        if {[llength $rest] != 1} {
            return -code error -errorcode {TLS OPTION WRONGARGS} $usage
        }
        return [$socketCmd -server [list ::tls::Accept $importArgs $callback] \
            {*}$socketArgs [lindex $rest 0]]
    }
    if {[llength $rest] != 2} {
        return -code error -errorcode {TLS OPTION WRONGARGS} $usage
    }
    lassign $rest host port
    if {$autoservername && !$haveServername} {
        lappend importArgs -servername $host
    }
    set chan [$socketCmd {*}$socketArgs $host $port]
    if {[catch {::tls::import $chan {*}$importArgs} message options]} {
        catch {close $chan}
        return -options $options $message
    }
    return $chan
}

# Accepts a connection of a tls::socket -server: stacks TLS, then calls
# the script's command with the channel, address and port.
proc ::tls::Accept {importOptions callback chan address port} {
    if {[catch {::tls::import $chan -server 1 {*}$importOptions} message options]} {
        catch {close $chan}
        return -options $options $message
    }
    uplevel #0 $callback [list $chan $address $port]
}

# --- Sample callbacks (see the manual: not recommended, may go away) ---

# tls::callback option args: a sample -command callback that logs.
proc ::tls::callback {option args} {
    variable debug
    switch -- $option {
        error {
            lassign $args chan message
            Log 0 "TLS/$chan: error: $message"
        }
        info {
            lassign $args chan major minor message type
            # The state per channel, for tls::xhandshake (TclTLS's array
            # tls::$chan: handshake start/done, alert read/write, ...).
            upvar #0 ::tls::$chan state
            set state($major) $minor
            Log 2 "TLS/$chan: $major/$minor: $message ($type)"
        }
        message {
            lassign $args chan direction version contentType message
            Log 3 "TLS/$chan: $direction $version $contentType: $message"
        }
        session {
            lassign $args chan sessionId ticket lifetime
            Log 2 "TLS/$chan: new session, lifetime $lifetime"
        }
        verify {
            # Moved to -validatecommand in 1.8; kept for old scripts.
            return [validate_command verify {*}$args]
        }
        default {
            return -code error "bad option \"$option\": must be error, info, message, session, or verify"
        }
    }
}

# tls::validate_command option args: a sample -validatecommand callback.
proc ::tls::validate_command {option args} {
    variable debug
    switch -- $option {
        verify {
            lassign $args chan depth cert status error
            array set c $cert
            Log 1 "TLS/$chan: verify/$depth: [expr {[info exists c(subject)] ? $c(subject) : {}}]"
            if {$status == 0 && $error ne ""} {
                Log 0 "TLS/$chan: verify/$depth: bad cert: $error (debug $debug)"
            }
            # With tls::debug set, accept even invalid certificates.
            return [expr {$status || $debug > 0}]
        }
        alpn - hello - sni {
            Log 2 "TLS/[lindex $args 0]: $option: [lrange $args 1 end]"
            return 1
        }
        default {
            return -code error "bad option \"$option\": must be alpn, hello, sni, or verify"
        }
    }
}

# tls::password ?password? ?rwflag? ?size?: the sample password callback, used when a
# key is encrypted and no -password was given. It knows no password.
proc ::tls::password {{option password} {rwflag 0} {size 0}} {
    Log 1 "TLS: password requested (rwflag $rwflag, size $size)"
    return ""
}

# tls::log level message: TclTLS's logger. Messages of a level up to
# tls::debug go to the command prefix tls::logcmd (none if it is empty).
proc ::tls::log {level message} {
    variable debug
    variable logcmd
    if {$level > $debug || $logcmd eq ""} {
        return
    }
    uplevel #0 [linsert $logcmd end $message]
}
proc ::tls::Log {level message} {
    log $level $message
}

# tls::xhandshake chan: waits in the event loop until the handshake that
# tls::callback records (as -command) is done; 1 when it is, 0 if the
# record goes away (the channel's state array is unset).
proc ::tls::xhandshake {chan} {
    upvar #0 ::tls::$chan state
    while {![info exists state(handshake)] || $state(handshake) ne "done"} {
        vwait ::tls::${chan}(handshake)
        if {![info exists state(handshake)]} {
            return 0
        }
    }
    return 1
}

# --- Files in Tcl's virtual filesystems ---

# tls::IsVirtual path: whether path lies in a filesystem other than the
# native one (zipfs, a tclvfs mount), which OpenSSL cannot open.
proc ::tls::IsVirtual {path} {
    if {[catch {file system $path} fs]} {
        return 0
    }
    expr {[lindex $fs 0] ne "native"}
}

# tls::ReadVirtual path: {size mtime bytes} of a file in a virtual
# filesystem, read through Tcl for tls::import; empty for a native path.
proc ::tls::ReadVirtual {path} {
    if {![IsVirtual $path]} {
        return {}
    }
    if {![file isfile $path]} {
        return -code error "no such file"
    }
    file stat $path stat
    set f [open $path r]
    fconfigure $f -translation binary
    set data [read $f]
    close $f
    list $stat(size) $stat(mtime) $data
}

# --- TclTLS's other commands ---

# tls::build-info ?option?: the Tcl 9 convention (tcl::build-info).
# Without an option, VERSION+TAG.TAG...; "version" and "patchlevel" give
# the version, "commit" the source commit (not recorded: empty),
# "compiler" the compiler; any other word, whether it is one of the tags.
proc ::tls::build-info {{option ""}} {
    set version [package present tls]
    regexp {^\S+ (\S+)} [version] -> openssl
    set tags [list rust openssl-$openssl [expr {[package vsatisfies [info tclversion] 9.0-] ? "tcl9" : "tcl8"}]]
    switch -exact -- $option {
        "" {return $version+[join $tags .]}
        version - patchlevel {return $version}
        commit {return ""}
        compiler {return rustc}
        default {return [expr {$option in $tags}]}
    }
}

# tls::misc req keysize keyfile certfile ?info?
# tls::misc strreq keysize keyvar certvar ?info?
#   TclTLS's undocumented generator: an RSA key of keysize bits and a
#   self-signed certificate, written to the files (req) or stored in the
#   caller's variables (strreq) as PEM. info is a list of days (365),
#   serial (0) and the subject fields C ST L O OU CN Email.
proc ::tls::misc {args} {
    if {[llength $args] < 1} {
        return -code error -errorcode {TCL WRONGARGS} "wrong # args: should be \"tls::misc subcommand ?args?\""
    }
    set args [lassign $args command]
    if {$command ni {req strreq}} {
        return -code error -errorcode [list TCL LOOKUP INDEX command $command] \
            "bad command \"$command\": must be req or strreq"
    }
    if {[llength $args] < 3 || [llength $args] > 4} {
        return -code error -errorcode {TCL WRONGARGS} \
            "wrong # args: should be \"tls::misc $command keysize keyfile certfile ?info?\""
    }
    lassign $args keysize keyout certout info
    if {![string is integer -strict $keysize]} {
        return -code error -errorcode {TCL VALUE NUMBER} "expected integer but got \"$keysize\""
    }
    if {$command eq "strreq"} {
        upvar 1 $keyout keyText $certout certText
        set keyText ""
        set certText ""
    }
    if {[llength $info] % 2} {
        return -code error "Information list must have even number of arguments"
    }
    set days 365
    set serial 0
    set subject {}
    foreach {field value} $info {
        switch -exact -- $field {
            days - serial {
                if {![string is integer -strict $value]} {
                    return -code error -errorcode {TCL VALUE NUMBER} "expected integer but got \"$value\""
                }
                set $field $value
            }
            C - ST - L - O - OU - CN - Email {lappend subject $field $value}
            default {return -code error "Unknown parameter"}
        }
    }
    lassign [MakeCertificate $keysize $days $serial $subject] key cert
    if {$command eq "strreq"} {
        set keyText $key
        set certText $cert
        return
    }
    foreach {file text} [list $keyout $key $certout $cert] {
        set f [open $file w 0600]
        fconfigure $f -translation lf
        puts -nonewline $f $text
        close $f
    }
    return
}
