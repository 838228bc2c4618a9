#!/usr/bin/env bash
# Runs the deployment of docs/deploy.md on this machine and checks it:
# Debian's nginx with docs/deploy/nginx-gridbot.conf (loopback ports, a
# throwaway certificate) in front of two gridbot instances on one
# PostgreSQL and one Redis, a fake WeChat API, then
#   - every roster member binds through https://…/wechat (signed messages,
#     gridbot chat): every message answered, none twice;
#   - one message delivered four times (WeChat's retries), spread over both
#     instances by nginx: the same reply each time, handled once;
#   - a report with a photo: fetched in the background, stored with its
#     thumbnail, both served by the admin API;
#   - a notice to everyone through the admin API: delivered once per
#     member, though both instances run the sender;
#   - the database backed up and restored into a fresh one, counts
#     compared (scripts/restore-check.sh).
# Leaves nothing behind (scratch database, Redis database 11, temp dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/services.sh
if ! command -v nginx >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "deploy-check: installing nginx" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nginx >/dev/null
fi

work=$(mktemp -d /tmp/gridbot-deploy.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1=$(free_port) p2=$(free_port) http=$(free_port) https=$(free_port) fake=$(free_port)
db=gridbot_deploy_$$
pg=postgres://postgres@127.0.0.1:5432
redis_db=11
pids=()
cleanup() {
  set +e
  [ -s "$work/nginx/nginx.pid" ] && nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -s quit 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  psql "$pg/postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  redis-cli -n $redis_db flushdb >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "deploy-check: FAIL: $*" >&2; for f in "$work"/a.log "$work"/b.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

echo "deploy-check: building gridbot"
go build -o "$work/gridbot" ./cmd/gridbot
psql "$pg/postgres" -qAtc "CREATE DATABASE $db" >/dev/null
redis-cli -n $redis_db flushdb >/dev/null

# The fake WeChat API: an access token for anyone, every media ID the
# sample photo, and every message sent appended to sent.jsonl.
cat > "$work/fakewechat.py" <<'PY'
import json, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
port, log, photo = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    def answer(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def media(self):
        body = open(photo, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        path = self.path.split("?")[0]
        if "token" in path:
            return self.answer({"access_token": "fake-token", "expires_in": 7200})
        if path.startswith("/cgi-bin/media/get"):
            return self.media()
        self.answer({"errcode": 0, "errmsg": "ok"})
    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = self.path.split("?")[0]
        if "token" in path:
            return self.answer({"access_token": "fake-token", "expires_in": 7200})
        if path.startswith("/cgi-bin/media/get"):
            return self.media()
        if path.startswith("/cgi-bin/message/"):
            with lock, open(log, "a") as f:
                f.write(json.dumps({"path": path, "body": json.loads(data)}, ensure_ascii=False) + "\n")
            return self.answer({"errcode": 0, "errmsg": "ok", "msgid": 1})
        self.answer({"errcode": 0, "errmsg": "ok"})
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
touch "$work/sent.jsonl"
python3 "$work/fakewechat.py" "$fake" "$work/sent.jsonl" "$root/testdata/photos/litter.jpg" & pids+=($!)

export DATABASE_URL="$pg/$db?sslmode=disable" REDIS_URL="redis://127.0.0.1:6379/$redis_db"
export WECHAT_TOKEN=deploytoken WECHAT_APPID=wxdeploycheck WECHAT_APPSECRET=secret
export WECHAT_API_BASE="http://127.0.0.1:$fake" GRIDBOT_TRUSTED_PROXIES=127.0.0.1 GRIDBOT_DATA_DIR="$work/data"
gb="$work/gridbot"
"$gb" migrate >/dev/null
"$gb" import grids testdata/roster/grids.csv >/dev/null
"$gb" import roster testdata/roster/roster.csv >/dev/null
"$gb" admin add office --password deploy-pass-1 >/dev/null

GRIDBOT_ADDR=127.0.0.1:$p1 "$gb" serve > "$work/a.log" 2>&1 & pids+=($!) pid_a=$!
GRIDBOT_ADDR=127.0.0.1:$p2 "$gb" serve > "$work/b.log" 2>&1 & pids+=($!)
for p in $p1 $p2; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.2; done
  curl -fs "http://127.0.0.1:$p/readyz" >/dev/null || fail "instance on $p not ready"
done
bash scripts/nginx-local.sh "$work/nginx" "$http" "$https" "127.0.0.1:$p1" "127.0.0.1:$p2"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -t 2>&1 | sed 's/^/deploy-check: /'
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
echo "deploy-check: nginx on https://127.0.0.1:$https -> gridbot on 127.0.0.1:$p1 and 127.0.0.1:$p2"
base="https://127.0.0.1:$https"
export SSL_CERT_FILE="$work/nginx/ssl/fullchain.pem"
tls() { curl -fsS --cacert "$SSL_CERT_FILE" "$@"; }

# Plain HTTP is sent to HTTPS.
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http/wechat")
[[ $code == "301 https://127.0.0.1/wechat" ]] || fail "http: $code"

# Every roster member binds, each in a chat of their own, all at once.
members=$(tail -n +2 testdata/roster/roster.csv | tr -d '\r' | awk -F, '{print $3","$4}')
n=0
while IFS=, read -r name phone; do
  n=$((n + 1))
  printf '绑定\n%s\n%s\n确认\n时长\n' "$name" "$phone" |
    "$gb" chat --as "o-deploy-$n" --url "$base/wechat" > "$work/chat-$n.out" 2>&1 &
  chats+=($!)
done <<< "$members"
for c in "${chats[@]}"; do wait "$c" || fail "a chat exited with an error"; done
answered=0
for i in $(seq 1 $n); do
  out="$work/chat-$i.out"
  grep -q '绑定成功' "$out" || fail "member $i did not bind: $(cat "$out")"
  grep -q '本月' "$out" || fail "member $i: no hours: $(cat "$out")"
  ! grep -qE '^(> )?(!|\(no reply\))' "$out" || fail "member $i: a message went unanswered: $(cat "$out")"
  answered=$((answered + $(grep -o '> ' "$out" | wc -l) - 1))
done
[ "$answered" = $((n * 5)) ] || fail "$answered replies to $((n * 5)) messages"
echo "deploy-check: $n members bound through nginx: $answered messages, $answered replies"

# One message delivered four times, as WeChat retries: nginx spreads the
# deliveries over both instances; every one gets the first's reply.
# post_signed XML: a signed POST to the webhook as WeChat sends it; prints
# the reply's text (its CreateTime is the time of answering).
post_signed() { post_signed_to "$base/wechat" "$1"; }
post_signed_to() {
  local ts nonce sig
  ts=$(date +%s) nonce=$RANDOM$RANDOM
  sig=$(printf '%s\n' "$WECHAT_TOKEN" "$ts" "$nonce" | sort | tr -d '\n' | sha1sum | cut -d' ' -f1)
  tls -H 'Content-Type: text/xml' --data-binary "$2" "$1?signature=$sig&timestamp=$ts&nonce=$nonce" |
    python3 -c '
import sys, xml.etree.ElementTree as E
body = sys.stdin.read()
try:
    print(E.fromstring(body).findtext("Content"))
except E.ParseError:
    print("(no reply: %r)" % body[:80])'
}
ts=$(date +%s)
msg="<xml><ToUserName><![CDATA[gh_gridbot]]></ToUserName><FromUserName><![CDATA[o-deploy-1]]></FromUserName><CreateTime>$ts</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[时长]]></Content><MsgId>$((ts * 1000 + RANDOM % 1000))</MsgId></xml>"
first=
for i in 1 2 3 4; do
  reply=$(post_signed "$msg")
  [ -n "$reply" ] && [ "$reply" != None ] || fail "retry $i: no reply text"
  [ -z "$first" ] && first=$reply
  [ "$reply" = "$first" ] || fail "retry $i answered differently"
done
metric() { curl -fs "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m {s += $2} END {print s + 0}'; }
hits=$(( $(metric $p1 gridbot_webhook_dedupe_hits_total) + $(metric $p2 gridbot_webhook_dedupe_hits_total) ))
reqs1=$(metric $p1 gridbot_webhook_requests_total) reqs2=$(metric $p2 gridbot_webhook_requests_total)
[ "$hits" = 3 ] || fail "4 deliveries of one message: $hits answered from the dedupe record, want 3"
[ "$reqs1" -gt 0 ] && [ "$reqs2" -gt 0 ] || fail "requests by instance: $reqs1 and $reqs2; nginx should use both"
echo "deploy-check: one message delivered 4 times: the same reply each time, handled once ($hits answered from the record); webhook requests by instance: $reqs1, $reqs2"

# A report with a photo: the webhook answers at once, an instance fetches
# the photo in the background and stores it with its thumbnail; the
# admin API behind nginx serves both.
chat1() { "$gb" chat --as o-deploy-1 --url "$base/wechat" > "$work/report-$1.out" 2>&1; }
printf '上报\n1\n/location 32.39,119.43 东关街口\n' | chat1 start
grep -q '现场照片' "$work/report-start.out" || fail "report: $(cat "$work/report-start.out")"
ts=$(date +%s)
reply=$(post_signed "<xml><ToUserName><![CDATA[gh_gridbot]]></ToUserName><FromUserName><![CDATA[o-deploy-1]]></FromUserName><CreateTime>$ts</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://127.0.0.1:$fake/missing.jpg]]></PicUrl><MediaId><![CDATA[deploy-photo-1]]></MediaId><MsgId>$((ts * 1000 + 999))</MsgId></xml>")
[[ $reply == *已收到第1张照片* ]] || fail "image message: $reply"
printf '完成\n垃圾堆放三天无人清运\n确认\n' | chat1 end
grep -q 'XC-' "$work/report-end.out" || fail "report: $(cat "$work/report-end.out")"
photo_id=
for _ in $(seq 1 150); do
  photo_id=$(psql "$DATABASE_URL" -qAtc "SELECT id FROM photos WHERE status = 'stored'")
  [ -n "$photo_id" ] && break
  sleep 0.2
done
[ -n "$photo_id" ] || fail "photo not stored: $(psql "$DATABASE_URL" -qAtc 'SELECT status, last_error FROM photos')"
token=$(tls -H 'Content-Type: application/json' -d '{"username":"office","password":"deploy-pass-1"}' "$base/api/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
tls -H "Authorization: Bearer $token" -o "$work/photo.jpg" "$base/api/v1/media/$photo_id"
tls -H "Authorization: Bearer $token" -o "$work/thumb.jpg" "$base/api/v1/media/$photo_id?size=thumb"
cmp -s "$work/photo.jpg" testdata/photos/litter.jpg || fail "the photo served is not the one sent"
full=$(stat -c %s "$work/photo.jpg") small=$(stat -c %s "$work/thumb.jpg")
[ "$small" -gt 0 ] && [ $((small * 4)) -lt "$full" ] || fail "thumbnail of $small bytes for a photo of $full"
echo "deploy-check: a report with a photo: stored by an instance in the background ($full bytes, thumbnail $small bytes), both served through nginx"

# A notice to everyone, through the admin API behind nginx.
token=$(tls -H 'Content-Type: application/json' -d '{"username":"office","password":"deploy-pass-1"}' "$base/api/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
id=$(tls -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"title":"周六文明创建","content":"周六上午九点东关街口集合，清理卫生死角","place":"东关街口","targets":{"all":true}}' \
  "$base/api/v1/notices" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
state=
for _ in $(seq 1 300); do
  tls -H "Authorization: Bearer $token" "$base/api/v1/notices/$id" > "$work/notice.json"
  state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$work/notice.json")
  [ "$state" = done ] && break
  sleep 0.2
done
[ "$state" = done ] || fail "notice $id still $state: $(cat "$work/notice.json")"
counts=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counts"]; print(c["sent"], c["failed"], c["pending"], c["skipped"])' "$work/notice.json")
[ "$counts" = "$n 0 0 0" ] || fail "notice counts sent/failed/pending/skipped: $counts, want $n 0 0 0"
python3 - "$work/sent.jsonl" "$n" <<'PY' || fail "notice deliveries"
import collections, json, sys
got = collections.Counter()
for line in open(sys.argv[1]):
    m = json.loads(line)
    if "周六文明创建" in json.dumps(m["body"], ensure_ascii=False):
        got[m["body"]["touser"]] += 1
n = int(sys.argv[2])
want = {f"o-deploy-{i}" for i in range(1, n + 1)}
if set(got) != want or any(c != 1 for c in got.values()):
    sys.exit(f"deliveries by member: {dict(got)}")
PY
echo "deploy-check: notice $id: sent $n, failed 0; the fake WeChat API got it once for each of the $n members"

# An instance dies (kill -9) while it handles a message: WeChat's retry,
# which nginx gives the other instance, takes the message over once the
# dead one's claim lapses (4 s) and answers it; the record is saved once.
# The save is held mid-way by a lock on the member's row, so the first
# instance is surely handling it when it dies.
printf '登记\n昨天\n9:00-10:00\n1\n东关街口\n清理卫生死角\n跳过\n' |
  "$gb" chat --as o-deploy-2 --url "http://127.0.0.1:$p1/wechat" > "$work/crash-start.out" 2>&1
grep -q '请核对' "$work/crash-start.out" || fail "log hours before the crash: $(cat "$work/crash-start.out")"
member=$(psql "$DATABASE_URL" -qAtc "SELECT id FROM members WHERE openid = 'o-deploy-2'")
psql "$DATABASE_URL" -qAtc "BEGIN; SELECT id FROM members WHERE id = $member FOR UPDATE; SELECT pg_sleep(60); COMMIT" >/dev/null 2>&1 &
locker=$!
for _ in $(seq 1 50); do
  [ "$(psql "$DATABASE_URL" -qAtc "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.1
done
ts=$(date +%s)
confirm="<xml><ToUserName><![CDATA[gh_gridbot]]></ToUserName><FromUserName><![CDATA[o-deploy-2]]></FromUserName><CreateTime>$ts</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[确认]]></Content><MsgId>$((ts * 1000 + 777))</MsgId></xml>"
(post_signed_to "http://127.0.0.1:$p1/wechat" "$confirm" > /dev/null 2>&1 &)
for _ in $(seq 1 50); do
  [ "$(psql "$DATABASE_URL" -qAtc "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")" -gt 0 ] && break
  sleep 0.1
done
[ "$(psql "$DATABASE_URL" -qAtc "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")" -gt 0 ] ||
  fail "the first instance's save never waited for the member's row"
sleep 1.5 # the first instance keeps its claim meanwhile
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null || true
psql "$DATABASE_URL" -qAtc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$locker" 2>/dev/null || true
start=$(date +%s.%N)
reply=$(post_signed "$confirm")
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
[[ $reply == *已保存* ]] || fail "the retry after the crash: $reply"
saved=$(psql "$DATABASE_URL" -qAtc "SELECT COUNT(*) FROM service_records WHERE member_id = $member AND start_min = 540")
[ "$saved" = 1 ] || fail "records saved by the message handled across the crash: $saved, want 1"
echo "deploy-check: an instance killed (-9) while saving a record: the retry through nginx was taken over by the other and answered in ${took} s (已保存); the record saved once"

bash scripts/restore-check.sh "$DATABASE_URL"
echo "deploy-check: OK"
