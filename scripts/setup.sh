# scripts/setup.sh: sourced by scripts/run, scripts/test and scripts/bench.
# Installs what is missing (Debian packages) and builds porter out of tree.

set -eu

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing porter needs (python3 and node run the
# example workers in the tests; jansson checks the JSON scanner; systemd
# for systemd-notify, which tests/it/ready.sh's workers send READY=1
# with; installing it starts nothing in a container; logrotate runs
# conf/porter.logrotate in tests/it/logs.sh; c-ares resolves upstream
# names; liburing is relay_io io_uring's; dnsmasq-base is the DNS server
# of tests/it/upstream-dns.sh, iproute2 the "ip netns" of
# tests/it/upstream-netns.sh).
PORTER_PKGS="build-essential autoconf automake libtool pkg-config
    libevent-dev libhttp-parser-dev libc-ares-dev liburing-dev check
    libjansson-dev curl
    wrk procps python3 jq python3-prometheus-client systemd logrotate
    dnsmasq-base iproute2"

# The real applications the supervision tests run porter in front of
# (tests/it/app-*.sh): gunicorn, uvicorn and nginx from Debian, Express
# from npm (need_express).
APP_PKGS="gunicorn python3-uvicorn nginx haproxy"

# Debian packages of daemons: their maintainer scripts would start them as
# services (nginx on port 80): policy-rc.d (exit 101) forbids that, only
# for this install, and only if there was none.
need_daemon_pkgs() {
	local policy=/usr/sbin/policy-rc.d made=0 sudo="" rc=0 p missing=0
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing=1
	done
	[ $missing = 1 ] || return 0
	[ "$(id -u)" = 0 ] || sudo=sudo
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy > /dev/null
		$sudo chmod 755 $policy
		made=1
	fi
	( need_pkgs "$@" ) || rc=$?
	[ $made = 0 ] || $sudo rm -f $policy
	return $rc
}

# Express, from npm, in $TOP/.deps/npm (readable by the workers' user);
# the tests skip with a message where npm cannot reach its registry.
need_express() {
	local dir=$TOP/.deps/npm
	[ -f "$dir/node_modules/express/package.json" ] && return 0
	mkdir -p "$dir"
	command -v npm > /dev/null || need_pkgs npm
	npm install --prefix "$dir" --no-audit --no-fund --silent \
	    express@4 > /dev/null 2>&1 ||
	    echo "porter: npm cannot install express; its tests will skip" >&2
	chmod -R a+rX "$TOP/.deps" 2>/dev/null || true
}

# node: the image's own if there is one, else Debian's nodejs.
need_node() {
	command -v node > /dev/null || need_pkgs nodejs
}

# Install the Debian packages named, those not installed yet.
need_pkgs() {
	local missing="" p sudo=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		command -v sudo > /dev/null ||
		    { echo "porter: need root to install:$missing" >&2; exit 1; }
		sudo="sudo"
	fi
	echo "porter: installing$missing" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	    --no-install-recommends $missing > /dev/null
}

# Build in $1 (a folder under the source tree) with configure options $2...
# An in-tree ./configure takes precedence: then the tree itself is used.
build_porter() {
	local dir=$1
	shift
	cd "$TOP"
	[ -x configure ] || autoreconf -fi > /dev/null
	if [ -f config.status ]; then
		[ $# -eq 0 ] || { echo "porter: the source tree is configured" \
		    "in place; run 'make distclean' to use $*" >&2; exit 1; }
		BUILD=$TOP
	else
		BUILD=$TOP/$dir
		mkdir -p "$BUILD"
		cd "$BUILD"
		if [ ! -f config.status ] || [ "$TOP/configure" -nt config.status ]; then
			"$TOP/configure" -q "$@"
		fi
	fi
	make -C "$BUILD" -s -j"$(nproc)" > /dev/null
}
