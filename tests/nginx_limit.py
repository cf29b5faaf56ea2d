"""nginx's limit_req on 127.0.0.1, for the rate-limit tests and benchmarks.

    import nginx_limit                     # with tests/ on sys.path
    srv = nginx_limit.start(workdir, rate=100, burst=10)
    urllib.request.urlopen(srv.base + "/obj.json?key=k&id=1")    # 200, or 429
    srv.counts("k")                        # {"requests": n, "429": m}
    srv.stop()

tests/nginx_limit.conf says how it limits.  It serves one static JSON file,
/obj.json ({"id": 1, "title": "limited"}; the query is ignored but for key=),
from WORKDIR/www.  tests/run.py's start_tls_server starts nginx the same way
(start_nginx below).  Standard library only.
"""
import os
import shutil
import socket
import subprocess
import time

TESTS = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_exe(exe="nginx"):
    """exe as PATH finds it, or in /usr/sbin and /sbin, where Debian puts
    nginx and which a user's PATH (not root's) leaves out."""
    found = shutil.which(exe) or shutil.which(exe, path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError(f"{exe} not found on PATH nor in /usr/sbin (make deps installs nginx-light)")
    return found


def start_nginx(template, workdir, subst, exe="nginx"):
    """nginx in the foreground from tests/TEMPLATE with @PORT@ (a free port),
    @DIR@ (workdir) and subst filled in; waits until it accepts.
    Returns (process, port)."""
    exe = nginx_exe(exe)
    port = free_port()
    with open(os.path.join(TESTS, template)) as f:
        conf = f.read().replace("@PORT@", str(port)).replace("@DIR@", workdir)
    for k, v in subst.items():
        conf = conf.replace(k, str(v))
    assert "@" not in conf.replace("@DIR@", ""), f"{template}: a placeholder is left"
    path = os.path.join(workdir, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    errlog = os.path.join(workdir, "error.log")
    proc = subprocess.Popen([exe, "-p", workdir, "-e", errlog, "-c", path],
                            stdin=subprocess.DEVNULL)
    for _ in range(200):
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    with open(errlog) as f:
        raise RuntimeError(f"nginx ({template}) did not start: " + f.read()[-2000:])


class LimitNginx:
    """A running nginx_limit.conf: base URL, counters from its access log."""

    def __init__(self, proc, port, workdir, rate, burst):
        self.proc, self.port, self.dir = proc, port, workdir
        self.rate, self.burst = rate, burst
        self.base = f"http://127.0.0.1:{port}"

    def counts(self, key=None):
        """{"requests": n, "429": m} for key (None: every request so far).
        nginx writes a request's log line when it has answered it."""
        n = limited = 0
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                for line in f:
                    status, _, k = line.rstrip("\n").partition(" ")
                    if key is None or k == key:
                        n += 1
                        limited += status == "429"
        except FileNotFoundError:
            pass
        return {"requests": n, "429": limited}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start(workdir, rate=100, burst=10, exe="nginx"):
    """nginx_limit.conf in workdir (an empty scratch folder the caller owns
    and removes): rate requests/s per client and key, burst at once."""
    www = os.path.join(workdir, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "obj.json"), "w") as f:
        f.write('{"id": 1, "title": "limited"}\n')
    proc, port = start_nginx("nginx_limit.conf", workdir,
                             {"@RATE@": rate, "@BURST@": burst}, exe)
    return LimitNginx(proc, port, workdir, rate, burst)
