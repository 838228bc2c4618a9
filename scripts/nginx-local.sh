#!/usr/bin/env bash
# Renders docs/deploy/nginx-gridbot.conf for loopback ports into DIR, with
# a main nginx.conf around it (what Debian's /etc/nginx/nginx.conf gives a
# site) and a throwaway certificate for localhost and 127.0.0.1:
#
#   bash scripts/nginx-local.sh DIR HTTP_PORT HTTPS_PORT UPSTREAM1 UPSTREAM2
#
# The site changes in four things only: the two upstream addresses, the
# listen addresses and the certificate paths. Then
#   nginx -p DIR -c DIR/nginx.conf -e DIR/error.log -t
# checks it, and without -t runs it. deploy-check.sh and the test suite
# (TestDeployFiles) use it.
set -euo pipefail
dir=$1 http=$2 https=$3 up1=$4 up2=$5
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir/ssl" "$dir/tmp"
if [ ! -s "$dir/ssl/fullchain.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/ssl/privkey.pem" -out "$dir/ssl/fullchain.pem" 2>/dev/null
fi
sed -e "s|server 10.0.0.11:8080 |server $up1 |" \
    -e "s|server 10.0.0.12:8080 |server $up2 |" \
    -e "s|listen 80;|listen 127.0.0.1:$http;|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$https ssl http2;|" \
    -e "s|/etc/ssl/gridbot/|$dir/ssl/|" \
    "$root/docs/deploy/nginx-gridbot.conf" > "$dir/gridbot.conf"
# Every change must have hit: the site as rendered differs from the file
# in exactly those lines.
for want in "server $up1 " "server $up2 " "listen 127.0.0.1:$http;" "listen 127.0.0.1:$https ssl" "$dir/ssl/fullchain.pem"; do
  grep -qF "$want" "$dir/gridbot.conf" || { echo "nginx-local: rendering missed \"$want\"" >&2; exit 1; }
done
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un);"
cat > "$dir/nginx.conf" <<CONF
# Around the site as Debian's nginx.conf is (without its other sites).
$user_line
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 512; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/gridbot.conf;
}
CONF
