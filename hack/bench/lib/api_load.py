"""Paced HTTP load on loopback for hack/bench/api: good callers and made-up tokens at fixed rates.

usage: api_load.py URL SECONDS GOOD_RATE BAD_RATE TOKEN...

Each good caller (one per TOKEN) sends GOOD_RATE/len(TOKEN) OFREP evaluations a second and times
each; the bad sender sends BAD_RATE a second, each with a token never seen before. Both keep their
schedule (open loop: a slow answer does not slow the sending) for SECONDS, then stop. Prints one
RESULT line of key=value pairs.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid

url, seconds, good_rate, bad_rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
tokens = sys.argv[5:]
target = urllib.parse.urlsplit(url)
body = json.dumps({"context": {"targetingKey": "bench-api"}})
lock = threading.Lock()
latencies = []
statuses = {"good": {}, "bad": {}}


def count(kind, status):
    with lock:
        statuses[kind][status] = statuses[kind].get(status, 0) + 1


def sender(kind, rate, token_for, workers_share):
    """Sends at `rate` requests a second from one connection, for `seconds`."""
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    interval = 1.0 / rate
    start = time.monotonic() + workers_share * interval  # spread the senders' phases
    n = 0
    while True:
        due = start + n * interval
        if due - start > seconds:
            break
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        began = time.monotonic()
        try:
            connection.request("POST", target.path, body=body, headers={
                "Authorization": "Bearer " + token_for(n), "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            status = "error"
        elapsed = (time.monotonic() - began) * 1000
        count(kind, status)
        if kind == "good":
            with lock:
                latencies.append(elapsed)
        n += 1
    connection.close()


threads = []
for i, token in enumerate(tokens):
    threads.append(threading.Thread(
        target=sender, args=("good", good_rate / len(tokens), lambda n, t=token: t, i / len(tokens))))
bad_senders = 4 if bad_rate > 0 else 0
for i in range(bad_senders):
    threads.append(threading.Thread(
        target=sender, args=("bad", bad_rate / bad_senders, lambda n: "bad-" + uuid.uuid4().hex, i / bad_senders)))
for t in threads:
    t.start()
for t in threads:
    t.join()

latencies.sort()
def pct(p):
    return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")
good = statuses["good"]
bad = statuses["bad"]
print("RESULT good_requests=%d good_ok=%d good_p50_ms=%.2f good_p99_ms=%.2f good_max_ms=%.2f "
      "bad_requests=%d bad_401=%d bad_429=%d bad_other=%d" % (
          sum(good.values()), good.get(200, 0), pct(0.50), pct(0.99), latencies[-1] if latencies else 0,
          sum(bad.values()), bad.get(401, 0), bad.get(429, 0),
          sum(v for k, v in bad.items() if k not in (401, 429))))
