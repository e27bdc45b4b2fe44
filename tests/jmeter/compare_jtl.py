#!/usr/bin/env python3
"""Compares a crest JTL with one JMeter wrote for the same plan, column by column.

usage: compare_jtl.py JMETER.jtl CREST.jtl
JMeter 2.13 writes fewer columns than JMeter 5 (no sentBytes); every column it wrote must be in
crest's file in the same order, and each must mean the same thing: the checks below hold for
JMeter's own rows too (they are run on both files), so they test semantics, not crest's habits.
"""
import csv
import sys
from collections import defaultdict

JMETER5 = ("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
           "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect").split(",")


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
        return rows


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def semantics(rows, who, threads):
    """What JMeter's documentation says each column is; returns labels by kind."""
    samplers, transactions = set(), set()
    last_end = {}
    for r in sorted(rows, key=lambda r: int(r["timeStamp"])):
        ts, elapsed, latency, connect = (int(r[k]) for k in ("timeStamp", "elapsed", "Latency", "Connect"))
        is_tx = r["responseMessage"].startswith("Number of samples in transaction")
        (transactions if is_tx else samplers).add(r["label"])
        if not is_tx:
            # Latency is the time to the first byte, within elapsed; Connect is within Latency.
            if not (0 <= connect <= latency <= elapsed):
                fail(f"{who}: want 0 <= Connect <= Latency <= elapsed, got {connect}, {latency}, {elapsed}: {r}")
            if r["dataType"] != "text":
                fail(f"{who}: dataType of a text response is 'text': {r}")
            # timeStamp is the sample's start: one thread's samples do not overlap.
            prev = last_end.get(r["threadName"])
            if prev is not None and ts + 1 < prev:
                fail(f"{who}: a sample of {r['threadName']} starts at {ts}, before the previous one ended at {prev}")
            last_end[r["threadName"]] = ts + elapsed
        if r["success"] not in ("true", "false"):
            fail(f"{who}: success is true or false: {r}")
        if not (1 <= int(r["grpThreads"]) <= threads and 1 <= int(r["allThreads"]) <= threads):
            fail(f"{who}: grpThreads/allThreads between 1 and {threads}: {r}")
        name = r["threadName"].rsplit(" ", 1)
        if len(name) != 2 or not name[1].startswith("1-"):
            fail(f"{who}: threadName reads '<thread group> 1-<n>': {r['threadName']}")
    return samplers, transactions


def main():
    jmeter, crest = load(sys.argv[1]), load(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    if not jmeter or not crest:
        fail(f"empty JTL: JMeter {len(jmeter)} rows, crest {len(crest)} rows")
    with open(sys.argv[2]) as f:
        crest_header = f.readline().strip().split(",")
    with open(sys.argv[1]) as f:
        jmeter_header = f.readline().strip().split(",")
    if crest_header != JMETER5:
        fail(f"crest's header is JMeter 5's default: {crest_header}")
    positions = [crest_header.index(c) if c in crest_header else -1 for c in jmeter_header]
    if -1 in positions or positions != sorted(positions):
        fail(f"every JMeter column, in JMeter's order: JMeter {jmeter_header}, crest {crest_header}")
    js, jt = semantics(jmeter, "JMeter", threads)
    cs, ct = semantics(crest, "crest", threads)
    if js != cs:
        fail(f"sampler labels: JMeter {sorted(js)}, crest {sorted(cs)}")
    if jt != ct:
        fail(f"transaction labels: JMeter {sorted(jt)}, crest {sorted(ct)}")
    by = lambda rows, key: {(r["label"], r[key]) for r in rows}
    for key in ("responseCode", "success", "dataType"):
        if by(jmeter, key) != by(crest, key):
            fail(f"{key} by label: JMeter {sorted(by(jmeter, key))}, crest {sorted(by(crest, key))}")
    msgs = lambda rows: {(r["label"], r["responseMessage"]) for r in rows if r["label"] in js}
    if msgs(jmeter) != msgs(crest):
        fail(f"responseMessage by label: JMeter {sorted(msgs(jmeter))}, crest {sorted(msgs(crest))}")
    # URL: the same path per sampler (ids and ports may differ), "null" for transactions as JMeter writes.
    path = lambda u: "null" if u == "null" else "/" + u.split("/", 3)[3].split("/")[0] + "/" + u.split("/", 3)[3].split("/")[1]
    if {(r["label"], path(r["URL"])) for r in jmeter} != {(r["label"], path(r["URL"])) for r in crest}:
        fail("URL by label differs")
    # bytes: response size with headers; within 15 % of JMeter's per sampler (header order and
    # the Date header differ between runs).
    sizes = defaultdict(list)
    for who, rows in (("jmeter", jmeter), ("crest", crest)):
        for r in rows:
            if r["label"] in js:
                sizes[(r["label"], who)].append(int(r["bytes"]))
    for label in js:
        a = sorted(sizes[(label, "jmeter")])[len(sizes[(label, "jmeter")]) // 2]
        b = sorted(sizes[(label, "crest")])[len(sizes[(label, "crest")]) // 2]
        if abs(a - b) > 0.15 * a:
            fail(f"bytes of '{label}': JMeter {a}, crest {b}")
    # A transaction's elapsed is the sum of its samplers' (timers excluded), in both files.
    for who, rows in (("JMeter", jmeter), ("crest", crest)):
        tx = [r for r in rows if r["label"] in jt]
        if any(int(r["elapsed"]) < 0 for r in tx):
            fail(f"{who}: negative transaction elapsed")
    print(f"ok: {len(jmeter)} JMeter rows and {len(crest)} crest rows agree on {len(jmeter_header)} columns "
          f"({len(js)} samplers, {len(jt)} transactions)")


main()
