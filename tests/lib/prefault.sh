# Sourced by e2e tests in the test host (or on hardware KVM): prefault_line
# [restore|boot] prints the pattern of what sandbox-vmm logs before a
# restored or a cold-booted guest runs on this host's KVM: that it pre-faulted
# guest RAM where KVM_PRE_FAULT_MEMORY works (Linux 6.10 and later, with
# nested paging), else that it cannot.
prefault_line() {
  local what=${1:-restore} release tdp
  release=$(uname -r)
  tdp=$(cat /sys/module/kvm_amd/parameters/npt /sys/module/kvm_intel/parameters/ept 2> /dev/null | head -n 1)
  if [ "$(printf '%s\n' 6.10 "${release%%-*}" | sort -V | head -n 1)" = 6.10 ] && [ "$tdp" != N ] && [ "$tdp" != 0 ]; then
    echo "$what: [0-9]* KiB of guest RAM pre-faulted in"
  else
    echo "$what: this KVM cannot pre-fault guest RAM"
  fi
}
