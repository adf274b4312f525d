# Sourced by fetch-qemu.sh and run.sh: `private_apt SUITE` sets up apt
# options in the array `apt` that read SUITE's package lists into a
# temporary directory ($private_apt_dir, removed at exit unless the caller
# replaces the EXIT trap, then it removes it), so packages from another suite
# (bookworm-backports) can be resolved and downloaded without touching the
# system's sources, lists or packages. Fails when the lists cannot be read
# (offline: apt-get update would only warn).
private_apt() {
  local suite=$1
  private_apt_dir=$(mktemp -d /tmp/testhost-apt.XXXXXX) || return
  trap 'rm -rf "$private_apt_dir"' EXIT
  mkdir -p "$private_apt_dir/lists/partial" "$private_apt_dir/archives/partial" || return
  echo "deb http://deb.debian.org/debian $suite main" > "$private_apt_dir/sources.list" || return
  apt=(-o "Dir::Etc::sourcelist=$private_apt_dir/sources.list" -o Dir::Etc::sourceparts=-
       -o "Dir::State::Lists=$private_apt_dir/lists" -o "Dir::Cache::Archives=$private_apt_dir/archives"
       -o APT::Sandbox::User=root)
  apt-get update -qq --error-on=any "${apt[@]}" >&2
}
