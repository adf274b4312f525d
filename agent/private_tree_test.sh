#!/usr/bin/env bash
# agent/private_tree_test.sh AGENT CONTAINERS_TEST: the user-namespace tests
# from a build tree under a 0700 directory (root's home, where root's clones
# usually live). A container init runs as a mapped uid that cannot traverse
# that directory, so the agent must re-execute itself without its path.
set -euo pipefail
agent=${1:?usage: private_tree_test.sh sandbox-agent agent_containers_test}
tests=${2:?usage: private_tree_test.sh sandbox-agent agent_containers_test}
private=$(mktemp -d /tmp/agent-private.XXXXXX)
trap 'rm -rf "$private"' EXIT
chmod 0700 "$private"
mkdir -p "$private/home/build"
cp "$agent" "$tests" "$private/home/build/"
[ "$(stat -c %a "$private")" = 700 ] || { echo "FAIL: $private is not 0700"; exit 1; }
SANDBOX_AGENT_BINARY=$private/home/build/$(basename "$agent") \
  "$private/home/build/$(basename "$tests")" \
  --gtest_filter='ContainerTest.UserNamespace*:ContainerTest.ANewUserNamespace*:ContainerTest.NonRootUser*'
