# all.tcl --
#
#   Runs every tests/*.test file, each in its own tclsh, and prints the
#   totals as "N passed, M failed" (", K skipped" when some were skipped).
#   Exit status 1 if any test failed or no test ran.

set testDir [file dirname [file normalize [info script]]]

set totals {Total 0 Passed 0 Skipped 0 Failed 0}
set failedFiles {}

set files [lsort [glob -directory $testDir *.test]]
foreach file $files {
    puts "==== [file tail $file]"
    set pipe [open |[list [info nameofexecutable] $file {*}$argv 2>@1] r]
    set text [read $pipe]
    set status [catch {close $pipe} message]
    puts -nonewline $text
    set found 0
    foreach line [split $text \n] {
        if {[regexp {^\S+\.test:\s+Total\s+(\d+)\s+Passed\s+(\d+)\s+Skipped\s+(\d+)\s+Failed\s+(\d+)} $line -> t p s f]} {
            dict incr totals Total $t
            dict incr totals Passed $p
            dict incr totals Skipped $s
            dict incr totals Failed $f
            set found 1
            if {$f > 0} {
                lappend failedFiles [file tail $file]
            }
        }
    }
    if {!$found} {
        # The file died before its summary: count it as one failure.
        puts "==== [file tail $file] ended without a summary: $message"
        dict incr totals Failed 1
        lappend failedFiles [file tail $file]
    }
}
puts ""
puts "tcltest: [dict get $totals Total] tests in [llength $files] files"
if {[llength $failedFiles]} {
    puts "files with failures: [join $failedFiles {, }]"
}
set line "[dict get $totals Passed] passed, [dict get $totals Failed] failed"
if {[dict get $totals Skipped]} {
    append line ", [dict get $totals Skipped] skipped"
}
puts $line
exit [expr {[dict get $totals Failed] > 0 || [dict get $totals Passed] == 0}]
