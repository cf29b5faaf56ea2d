"""The rate-limited test servers answer as specified (issue 19), so that the
engine's header pacing, adaptive concurrency and circuit breaker are built
against servers that are right: tests/loopback.py's /limited/FORM, /outage,
/flaky and /hang, and nginx's limit_req (tests/nginx_limit.py).  Plain
urllib, no extension.

    /usr/bin/python3 tests/py/ratelimit_server.py BASE_URL     (run by tests/run.py)
"""
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from _common import BASE, ROOT, check, finish

sys.path.insert(0, os.path.join(ROOT, "tests"))
import nginx_limit  # noqa: E402

HINTS = ("x-ratelimit-", "ratelimit", "retry-after")


def get(url, timeout=10):
    """(status, {lower-case header: value}, body) of one GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def stats():
    return json.loads(get(BASE + "/stats")[2])


def hints(h):
    return sorted(k for k in h if k.startswith(HINTS))


def clear_of_boundary(window, margin=2.0):
    """Sleep past a window boundary that is near, so that a sequence of
    requests falls in one window (they are aligned to the clock)."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)


def sequence(form, key, n=4, limit=3, window=60):
    clear_of_boundary(window)
    return [get(f"{BASE}/limited/{form}?limit={limit}&window={window}&key={key}&id={i}")
            for i in range(n)]


# GitHub's form: the budget on every answer, the reset as unix time.
now = time.time()
rs = sequence("github", "gh")
check([s for s, _, _ in rs] == [200, 200, 200, 429], "github: 3 answered, the 4th is 429")
check([h.get("x-ratelimit-limit") for _, h, _ in rs] == ["3"] * 4, "github: X-RateLimit-Limit 3")
check([h.get("x-ratelimit-remaining") for _, h, _ in rs] == ["2", "1", "0", "0"],
      "github: X-RateLimit-Remaining counts down to 0 and stays there")
resets = {h.get("x-ratelimit-reset") for _, h, _ in rs}
reset = int(resets.pop()) if len(resets) == 1 else None
check(reset is not None and reset % 60 == 0 and now < reset <= now + 62,
      f"github: X-RateLimit-Reset is the window's end as unix time ({reset}, now {now:.0f})")
check(json.loads(rs[0][2])["id"] == 0 and json.loads(rs[3][2])["error"] == "rate limit exceeded",
      "github: obj(id) within the budget, an error object over it")
check("retry-after" not in rs[3][1], "github: the 429 has no Retry-After, only the fields")

# The IETF structured fields (draft-ietf-httpapi-ratelimit-headers-10).
rs = sequence("ietf", "ietf")
check([s for s, _, _ in rs] == [200, 200, 200, 429], "ietf: 3 answered, the 4th is 429")
check({h.get("ratelimit-policy") for _, h, _ in rs} == {'"default";q=3;w=60'},
      'ietf: RateLimit-Policy: "default";q=3;w=60 on every answer')
fields = [re.fullmatch(r'"default";r=(\d+);t=(\d+)', h.get("ratelimit", "")) for _, h, _ in rs]
check(all(fields) and [int(m.group(1)) for m in fields] == [2, 1, 0, 0]
      and all(1 <= int(m.group(2)) <= 60 for m in fields),
      f'ietf: RateLimit: "default";r=R;t=T, R counting down, T in 1..60 '
      f'({[h.get("ratelimit") for _, h, _ in rs]})')
check(hints(rs[3][1]) == ["ratelimit", "ratelimit-policy"], "ietf: no other hint on the 429")

# The older draft's three fields, reset as delta seconds.
rs = sequence("draft", "draft")
check([s for s, _, _ in rs] == [200, 200, 200, 429], "draft: 3 answered, the 4th is 429")
check([(h.get("ratelimit-limit"), h.get("ratelimit-remaining")) for _, h, _ in rs]
      == [("3", "2"), ("3", "1"), ("3", "0"), ("3", "0")],
      "draft: RateLimit-Limit 3, RateLimit-Remaining counting down")
check(all(1 <= int(h.get("ratelimit-reset", "-1")) <= 60 for _, h, _ in rs),
      "draft: RateLimit-Reset is delta seconds, 1..60")
check(hints(rs[3][1]) == ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
      "draft: no other hint on the 429")

# Retry-After only, and nothing at all.
rs = sequence("retry_after", "ra")
check([s for s, _, _ in rs] == [200, 200, 200, 429], "retry_after: 3 answered, the 4th is 429")
check([hints(h) for _, h, _ in rs[:3]] == [[]] * 3, "retry_after: no hint on a 2xx")
check(hints(rs[3][1]) == ["retry-after"] and 1 <= int(rs[3][1]["retry-after"]) <= 60,
      f"retry_after: the 429 has Retry-After in 1..60 and nothing else ({rs[3][1].get('retry-after')})")
rs = sequence("none", "none")
check([s for s, _, _ in rs] == [200, 200, 200, 429], "none: 3 answered, the 4th is 429")
check(all(hints(h) == [] for _, h, _ in rs), "none: no hint on any answer")
check(get(BASE + "/limited/nope")[0] == 404, "an unknown form is 404")
check(get(BASE + "/limited/none?limit=0")[0] == 400, "a limit of 0 is 400")

# Per key: a budget of its own, and the counters.
check(sequence("none", "other", n=1)[0][0] == 200, "another key has a budget of its own")
st = stats()["by_key"]
check(st.get("gh") == {"requests": 4, "inflight": 0, "max_inflight": 1,
                       "status": {"200": 3, "429": 1}},
      f"/stats by_key: requests, in flight, 429s per key ({st.get('gh')})")

# The window is fixed and aligned: a new second, a new budget.
clear_of_boundary(1, margin=0.5)
rs = [get(f"{BASE}/limited/github?limit=2&window=1&key=w")[0] for _ in range(3)]
time.sleep(1.0 - time.time() % 1 + 0.05)
rs.append(get(f"{BASE}/limited/github?limit=2&window=1&key=w")[0])
check(rs == [200, 200, 429, 200], f"window=1: 2 answered, 429, then a new window ({rs})")

# /stats/reset forgets the windows.
get(BASE + "/stats/reset")
check(sequence("github", "gh", n=1)[0][0] == 200 and "gh" in stats()["by_key"]
      and stats()["by_key"]["gh"]["requests"] == 1,
      "/stats/reset gives every key a full budget and zero counters")

# max_inflight per key: requests that overlap (delay=) are seen together.
ts = [threading.Thread(target=get, args=(f"{BASE}/limited/none?limit=100&key=par&delay=400",))
      for _ in range(5)]
for t in ts:
    t.start()
for t in ts:
    t.join()
check(stats()["by_key"]["par"]["max_inflight"] == 5, "by_key max_inflight: 5 overlapping requests")

# A host that is down for a while and recovers, and one down for k requests.
codes = [get(f"{BASE}/outage?key=o&for=1")[0] for _ in range(2)]
time.sleep(1.1)
codes.append(get(f"{BASE}/outage?key=o&for=1")[0])
check(codes == [503, 503, 200], f"/outage: 503 for 1 s, then 200 ({codes})")
try:
    get(f"{BASE}/outage?key=orst&code=reset")
    check(False, "/outage code=reset resets the connection")
except (ConnectionError, urllib.error.URLError) as e:
    check(True, f"/outage code=reset resets the connection ({type(e).__name__})")
codes = [get(f"{BASE}/flaky?key=fl&fail=2&id={i}")[0] for i in range(3)]
check(codes == [503, 503, 200], f"/flaky: 2 failures, then 200 ({codes})")

# /hang: the connection is accepted and the request read, no answer comes.
t0 = time.monotonic()
try:
    get(BASE + "/hang?key=hang", timeout=0.5)
    check(False, "/hang never answers")
except (socket.timeout, TimeoutError, urllib.error.URLError):
    check(0.4 < time.monotonic() - t0 < 3, "/hang never answers (the client times out)")
check(stats()["by_key"]["hang"]["requests"] == 1 and stats()["by_key"]["hang"]["status"] == {},
      "/hang: the request was received and has no status")

# nginx's limit_req: a burst, then 429 with no hint; the log counts them.
work = tempfile.mkdtemp(prefix="apifetch-limit-")
try:
    srv = nginx_limit.start(work, rate=100, burst=10)
    try:
        rs = [get(f"{srv.base}/obj.json?key=n&id={i}") for i in range(30)]
        codes = [s for s, _, _ in rs]
        first = codes.index(429) if 429 in codes else None
        check(first is not None and 11 <= first <= 14 and codes.count(429) >= 10,
              f"nginx limit_req: the burst (1 + 10) answered, then 429s ({codes})")
        check(all(hints(h) == [] for _, h, _ in rs), "nginx limit_req: no hint on any answer")
        check(json.loads(rs[0][2]) == {"id": 1, "title": "limited"}, "nginx: the static JSON")
        time.sleep(0.2)
        check(get(f"{srv.base}/obj.json?key=n")[0] == 200, "nginx: 200 again after 0.2 s")
        time.sleep(0.05)
        c = srv.counts("n")
        check(c == {"requests": 31, "429": codes.count(429)},
              f"nginx: the access log counts requests and 429s ({c})")
        check(get(f"{srv.base}/obj.json?key=m")[0] == 200, "nginx: another key, another budget")
    finally:
        srv.stop()
finally:
    shutil.rmtree(work, ignore_errors=True)

finish()
