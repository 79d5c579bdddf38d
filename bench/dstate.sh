#!/usr/bin/env bash
# bench/dstate.sh — what a process blocked on in the kernel, by cause:
# summarises a capture of its switches into uninterruptible sleep (D state),
# a count of events, not of time, so it does not depend on how busy the
# machine was. Capture 40 s of a running gateway (root, perf):
#
#   perf record -e sched:sched_switch --filter 'prev_state == 2' -g -p PID -o sw.data -- sleep 40
#   bash bench/dstate.sh sw.data
#
# Each line: count | system call | the innermost SQLite, recorder, os or net
# frame | the recorder or store method it ran in ([discard]: the kernel was
# discarding freed blocks, on a file system mounted with discard).
f=$1
perf script -i "$f" 2>/dev/null | awk '/^fulcrum/ {if (s!="") print s; s=""; next} NF==0 {next} {s = s ";" $2} END {if (s!="") print s}' |
sed 's/+0x[0-9a-f]*//g' | while IFS= read -r s; do
	sys=$(tr ';' '\n' <<<"$s" | grep -m1 -E '^__x64_sys_' | sed 's/__x64_sys_//')
	why=$(tr ';' '\n' <<<"$s" | grep -m1 -E 'walCheckpoint|sqlite3WalFrames|meter\.\(\*Recorder\)\.[a-zA-Z]+|os\.\(\*File\)\.[A-Za-z]+|os\.Remove|blkdev_issue_discard|net\.' )
	disc=$(grep -q blkdev_issue_discard <<<"$s" && echo " [discard]")
	rec=$(tr ';' '\n' <<<"$s" | grep -m1 -E 'meter\.\(\*Recorder\)\.[a-zA-Z]+|sqldb\.\(\*DB\)\.[A-Za-z]+')
	echo "$sys | $why | $rec$disc"
done | sort | uniq -c | sort -rn
