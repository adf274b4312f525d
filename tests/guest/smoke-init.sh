#!/bin/busybox sh
# /init of the guest smoke test: report that userspace runs, then end the VM.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "sandbox-guest: userspace ready at $(cut -d' ' -f1 /proc/uptime)s uptime, $(grep -c ^processor /proc/cpuinfo) cpus, kernel $(uname -r), $(ls /sys/bus/virtio/devices | wc -l) virtio devices"
echo "sandbox-guest: done"
/bin/busybox reboot -f
