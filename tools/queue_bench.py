#!/usr/bin/env python3
"""Distributed proving throughput on one machine: `zklanes serve --queue`
with 1, 2 and 3 `zklanes worker` processes proving the same batch (3-slot
chunks, chunk proofs only, development SRS), side by side in one run.

Prints one JSON line per worker count: wall seconds from the post to the
batch proven, and per job the medians of the worker's own figures (claim,
input read, submit = fenced verification and acceptance, prove) from its
`job` log lines. Needs PostgreSQL (ZKLANES_TEST_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/test) and a release build.

usage: tools/queue_bench.py [--chunks N] [--workers 1,2,3] [--threads T]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "zklanes")
DB = os.environ.get("ZKLANES_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
TOKEN = "queue-bench-token-0123456789abcdef"


def http(addr, method, path, body=None):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method=method)
    if method == "POST":
        req.add_header("Authorization", f"Bearer {TOKEN}")
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read().decode()


def run(workers, chunks, threads, cache, tmp):
    schema = f"zkbench_{os.getpid()}_{workers}_{int(time.time())}"
    data = os.path.join(tmp, f"data{workers}")
    token = os.path.join(tmp, "token")
    open(token, "w").write(TOKEN)
    batch = os.path.join(tmp, f"batch{workers}.json")
    subprocess.run([BIN, "gen-batch", "--txs", str(chunks * 3), "--workload", "transfers", "--format", "json",
                    "--accounts", "4", "--out", batch], check=True, capture_output=True)
    log = open(os.path.join(tmp, f"serve{workers}.log"), "w")
    serve = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--capacity", "3",
                              "--proof-level", "chunks", "--data-dir", data, "--cache-dir", cache,
                              "--auth-token-file", token, "--queue", DB, "--queue-schema", schema,
                              "--log-format", "json"], stdout=subprocess.PIPE, stderr=log, text=True)
    addr = serve.stdout.readline().strip().removeprefix("listening on ")
    procs, logs = [], []
    try:
        for i in range(workers):
            path = os.path.join(tmp, f"w{workers}-{i}.log")
            logs.append(path)
            procs.append(subprocess.Popen([BIN, "worker", "--capacity", "3", "--kinds", "chunk",
                                           "--threads", str(threads), "--queue", DB,
                                           "--queue-schema", schema, "--name", f"w{i}",
                                           "--poll-ms", "100", "--cache-dir", cache,
                                           "--log-format", "json"],
                                          stdout=subprocess.DEVNULL, stderr=open(path, "w")))
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if http(addr, "GET", "/readyz")[0] == 200 and all(
                        "worker started" in open(p).read() for p in logs):
                    break
            except Exception:
                pass
            time.sleep(0.1)
        start = time.time()
        http(addr, "POST", "/v1/batches", open(batch, "rb").read())
        while True:
            st = json.loads(http(addr, "GET", "/v1/batches/0")[1])
            if st.get("stage") == "proven":
                break
            time.sleep(0.05)
        wall = time.time() - start
        jobs = []
        for p in logs:
            for line in open(p):
                try:
                    v = json.loads(line)
                except ValueError:
                    continue
                if v.get("message") == "job" and v.get("outcome") == "accepted":
                    jobs.append(v)
        med = lambda k: round(statistics.median(j[k] for j in jobs), 2)
        n = st["chunks"]
        out = {"workers": workers, "threads_per_worker": threads, "chunks": n, "wall_s": round(wall, 2),
               "chunks_per_s": round(n / wall, 3), "jobs": len(jobs),
               "median_prove_ms": med("prove_ms"), "median_claim_ms": med("claim_ms"),
               "median_inputs_ms": med("inputs_ms"), "median_submit_ms": med("submit_ms"),
               "median_verify_ms": med("verify_ms"),
               "median_overhead_ms": round(statistics.median(
                   j["claim_ms"] + j["inputs_ms"] + j["submit_ms"] for j in jobs), 2)}
        print(json.dumps(out), flush=True)
    finally:
        for p in procs + [serve]:
            p.kill()
            p.wait()
        # The run's schema is dropped (psql, where installed).
        subprocess.run(["psql", DB.split("?")[0], "-qc", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'],
                       capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=12)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    cache = os.environ.get("ZKLANES_CACHE_DIR", os.path.join(ROOT, "target", "tmp", "zklanes-cache"))
    with tempfile.TemporaryDirectory() as tmp:
        for w in [int(x) for x in a.workers.split(",")]:
            run(w, a.chunks, a.threads, cache, tmp)


if __name__ == "__main__":
    sys.exit(main())
