#!/bin/busybox sh
# /init of the sandbox-vmm e2e guest (busybox): reports what it sees, runs the
# virtio-blk and vsock checks the host side then verifies, and reboots, which
# must end sandbox-vmm with status 0.
export PATH=/bin
busybox mount -t proc proc /proc
busybox mount -t sysfs sysfs /sys
busybox mount -t devtmpfs dev /dev
say() { echo "vmm-guest: $*"; }
say "cpus $(grep -c ^processor /proc/cpuinfo), virtio devices $(ls /sys/bus/virtio/devices | wc -l)"
# A hostile guest (vmm_e2e's flood VM): a storm of vsock connections the host
# refuses and a console written as fast as it goes, for a fixed time.
if grep -q "vmmtest=flood" /proc/cmdline; then
  say "flood started"
  /bin/vsock_stream flood 2 9999 20 > /tmp/flood.out 2>&1 &
  flood_pid=$!
  timeout 20 yes "flood 0123456789abcdefghijklmnopqrstuvwxyz 0123456789abcdefghijklmnopqrstuvwxyz" > /dev/console
  wait $flood_pid
  say "flood done: $(cat /tmp/flood.out)"
  reboot -f
fi
# The snapshot VM: counts on its console until it is snapshotted and
# stopped; a restored copy goes on counting from where it was.
if grep -q "vmmtest=counter" /proc/cmdline; then
  i=0
  while true; do
    i=$((i + 1))
    say "tick $i"
    sleep 0.2
  done
fi
if [ -c /dev/hwrng ]; then
  say "hwrng $(cat /sys/class/misc/hw_random/rng_current) read $(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c) bytes"
fi
if [ -b /dev/vda ] && [ -b /dev/vdb ]; then
  say "vda ro=$(cat /sys/block/vda/ro) size=$(cat /sys/block/vda/size) serial=$(cat /sys/block/vda/serial 2>/dev/null)"
  sum=$(sha256sum /dev/vda | cut -d' ' -f1)
  say "vda sha256 $sum"
  echo "$sum" | dd of=/dev/vdb conv=fsync 2>/dev/null && say "vdb written"
  # The kernel honours the read-only flag; lift it to check the device refuses too.
  blockdev --setrw /dev/vda
  if dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null; then
    say "vda write accepted"
  else
    say "vda write refused"
  fi
fi
if [ -x /bin/vsock_stream ]; then
  /bin/vsock_stream echo 5000 &
  echo_pid=$!
  /bin/vsock_stream send 2 6000 16777216 && say "vsock send done"
  wait $echo_pid && say "vsock echo done"
fi
say "done"
reboot -f
