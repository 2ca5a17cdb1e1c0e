#!/bin/sh
# tests/it/app-nginx.sh: the command of an nginx worker. nginx cannot
# read $PORT, so this writes its conf for the worker's port from
# nginx-porter.conf, then becomes nginx (exec: the worker's pid is
# nginx's master, whose worker processes are in its process group).
#   nginx-run.sh DIR [crash]
# DIR holds nginx-porter.conf and takes what nginx writes (conf, pid,
# temp files): the workers' user must be able to write there.
# crash: a bad release: nginx starts and serves, and is gone 1 s later.
set -e
dir=$1
[ -n "${PORT:-}" ] || { echo "nginx-run.sh: no PORT" >&2; exit 1; }
sed -e "s/@PORT@/$PORT/g" -e "s|@DIR@|$dir|g" "$dir/nginx-porter.conf" \
    > "$dir/nginx-$PORT.conf"
mkdir -p "$dir/tmp-$PORT"
if [ "${2:-}" = crash ]; then
	# $$ is nginx's master after the exec below.
	(sleep 1; kill -TERM $$) &
fi
exec /usr/sbin/nginx -p "$dir/" -c "$dir/nginx-$PORT.conf" -e stderr \
    -g "daemon off; master_process on; worker_processes 1;"
