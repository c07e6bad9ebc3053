#!/usr/bin/env bash
# Installs the programs the networking tests talk to (curl, redis-server, openssl) when they are
# missing. As root with apt-get (CI on a fresh machine) it installs them from Debian; otherwise
# it says which are missing: the tests that need them skip, saying why. Quick when everything
# is there (no apt-get update), and never fails the test run: it always exits 0.
set -u

# command -> Debian package
tools=(curl:curl redis-server:redis-server openssl:openssl)

missing=()
for entry in "${tools[@]}"; do
  command="${entry%%:*}"
  package="${entry#*:}"
  if ! command -v "$command" >/dev/null 2>&1; then missing+=("$package"); fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

skip_note() {
  echo "install-test-tools: the tests that need ${missing[*]} will skip ($1)" >&2
}

if [ "$(id -u)" != "0" ]; then
  skip_note "not root: install them with apt-get install ${missing[*]}"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  skip_note "no apt-get on this machine"
  exit 0
fi

echo "install-test-tools: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/dev/null 2>&1; then
  skip_note "apt-get update failed"
  exit 0
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  skip_note "apt-get install ${missing[*]} failed"
  exit 0
fi

still=()
for entry in "${tools[@]}"; do
  command="${entry%%:*}"
  if ! command -v "$command" >/dev/null 2>&1; then still+=("$command"); fi
done
if [ "${#still[@]}" -gt 0 ]; then
  missing=("${still[@]}")
  skip_note "still missing after apt-get install"
fi
exit 0
