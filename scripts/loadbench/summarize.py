#!/usr/bin/python3
"""Summarise a scripts/loadbench/run.sh results folder: write summary.md and summary.json, print summary.md.

    /usr/bin/python3 scripts/loadbench/summarize.py [--batch-size 100] RESULTS_DIR

Reads RESULTS_DIR/metrics.jsonl (one "load" line per measured wrk run, "mem" lines, "error"
lines), the WRKJSON line of every warmup output, and RESULTS_DIR/machine.txt.
"""
import argparse
import glob
import json
import os

SERVERS = ("caresignal", "floor", "anchor")
MIB = 1024.0


def socket_errors(w):
    return w["err_connect"] + w["err_read"] + w["err_write"] + w["err_timeout"]


def run_row(r, batch_size):
    w, cpu, mem = r["wrk"], r["cpu"], r["mem"]
    row = {"label": r["label"], "server": r["server"], "body": r["body"], "conns": r["conns"],
           "attempt": r.get("attempt", 1), "noisy": r.get("noisy", False), "wrk_rc": r["wrk_rc"], "rss_end_mib": mem["rss_end_kb"] / MIB,
           "rss_max_mib": mem["rss_max_kb"] / MIB, "hwm_mib": mem["hwm_kb"] / MIB, "procs": mem["procs"],
           "wrk_cpu_pct": 100 * cpu["wrk_s"] / cpu["capacity_s"],
           "other_cpu_pct": 100 * cpu["other_s"] / cpu["capacity_s"],
           "server_cpu_pct": 100 * cpu["server_s"] / cpu["capacity_s"]}
    if w is None:  # wrk failed: no figures
        row.update(rps=None, patients_s=None, p50_ms=None, p99_ms=None, max_ms=None,
                   non2xx=None, socket_errors=None, server_cpu_ms_per_req=None, requests=0)
        return row
    per = batch_size if r["body"] == "batch100" else 1
    row.update(requests=w["requests"], rps=w["rps"], patients_s=w["rps"] * per, p50_ms=w["p50_ms"],
               p90_ms=w["p90_ms"], p99_ms=w["p99_ms"], max_ms=w["max_ms"], non2xx=w["non2xx"],
               socket_errors=socket_errors(w),
               server_cpu_ms_per_req=1000 * cpu["server_s"] / w["requests"] if w["requests"] else None)
    return row


def median_run(rows):
    """The run with the median req/s (lower middle for an even count) among the undisturbed runs,
    or, when every run was disturbed, the least disturbed one; None if there is none."""
    ok = [r for r in rows if r["rps"] is not None]
    clean = sorted((r for r in ok if not r["noisy"]), key=lambda r: r["rps"])
    if clean:
        return clean[(len(clean) - 1) // 2]
    return min(ok, key=lambda r: r["other_cpu_pct"]) if ok else None


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--batch-size", type=int, default=100)
    args = ap.parse_args()

    lines = [json.loads(l) for l in open(os.path.join(args.out, "metrics.jsonl")) if l.strip()]
    runs = [run_row(r, args.batch_size) for r in lines if r["kind"] == "load"]
    mems = [r for r in lines if r["kind"] == "mem"]
    rejects = [r for r in lines if r["kind"] == "error"]
    machine = {}
    mpath = os.path.join(args.out, "machine.txt")
    if os.path.exists(mpath):
        for l in open(mpath):
            k, _, v = l.partition(": ")
            machine[k.strip()] = v.strip()

    warm_errors = {s: 0 for s in SERVERS}
    for path in sorted(glob.glob(os.path.join(args.out, "*.warmup.txt"))):
        server = os.path.basename(path).split("-")[0]
        for l in open(path):
            if l.startswith("WRKJSON ") and server in warm_errors:
                w = json.loads(l[8:])
                warm_errors[server] += w["non2xx"] + socket_errors(w)

    pick = {(s, b): median_run([r for r in runs if r["server"] == s and r["body"] == b])
            for s in SERVERS for b in ("single", "batch100")}
    cs, fl, an = pick["caresignal", "single"], pick["floor", "single"], pick["anchor", "single"]
    csb, anb = pick["caresignal", "batch100"], pick["anchor", "batch100"]

    def ratio(a, b, key):
        if a is None or b is None or a.get(key) is None or not b.get(key):
            return None
        return a[key] / b[key]

    errors = {s: warm_errors[s] + sum((r["non2xx"] or 0) + (r["socket_errors"] or 0)
                                      for r in runs if r["server"] == s) for s in SERVERS}
    failed_wrk = [r["label"] for r in runs if r["rps"] is None or r["wrk_rc"] != 0]
    targets = [
        {"id": "single_rps_vs_anchor", "target": "caresignal single req/s >= 50x anchor",
         "value": ratio(cs, an, "rps"), "op": ">=", "limit": 50.0, "unit": "x"},
        {"id": "single_rps_vs_floor", "target": "caresignal single req/s >= 50% of floor",
         "value": ratio(cs, fl, "rps"), "op": ">=", "limit": 0.5, "unit": "share"},
        {"id": "p99_vs_floor", "target": "caresignal single p99 <= 2x floor p99",
         "value": ratio(cs, fl, "p99_ms"), "op": "<=", "limit": 2.0, "unit": "x"},
        {"id": "rss_vs_anchor", "target": "caresignal RSS <= 1/20 of anchor's (gunicorn master + 5 workers)",
         "value": ratio(cs, an, "rss_end_mib"), "op": "<=", "limit": 0.05, "unit": "share"},
        {"id": "batch_patients_vs_anchor", "target": "caresignal batch100 patients/s >= 20x anchor",
         "value": ratio(csb, anb, "patients_s"), "op": ">=", "limit": 20.0, "unit": "x"},
        {"id": "zero_errors", "target": "zero non-2xx and socket errors (measured and warmup runs)",
         "value": float(sum(errors.values())) if not failed_wrk else None, "op": "==", "limit": 0.0,
         "unit": "count", "by_server": errors},
    ]
    for t in targets:
        v = t["value"]
        t["pass"] = v is not None and {">=": v >= t["limit"], "<=": v <= t["limit"], "==": v == t["limit"]}[t["op"]]
        t["result"] = "PASS" if t["pass"] else "FAIL"

    md = ["# caresignal load benchmark", ""]
    for k in ("date_utc", "nproc", "cpu", "kernel", "os", "go", "caresignal_commit", "python", "libs",
              "gunicorn", "wrk", "settings", "loadavg_at_start", "loadavg_at_end"):
        if k in machine:
            md.append(f"* {k}: {machine[k]}")
    md += ["", "## Measured runs", "",
           "Client (wrk) and servers share the same CPUs. \"other CPU\" is what every other process on "
           "the machine used during the run (runs above the noise limit are marked *noisy* and measured "
           "again); the targets use, per server and body, the median run by req/s among the runs that "
           "were not noisy, or the least disturbed run when all were (**bold**). RSS is summed over the server's processes (gunicorn: master "
           "+ workers) at the end of the run, \"max\" over 1 s samples during it, HWM = sum of VmHWM.",
           "",
           "| run | conns | req/s | patients/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket err "
           "| server CPU ms/req | server CPU % | wrk CPU % | other CPU % | RSS end MiB | RSS max MiB "
           "| HWM MiB | procs |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    chosen = {p["label"] for p in pick.values() if p}
    for r in runs:
        name = f"**{r['label']}**" if r["label"] in chosen else r["label"]
        if r["noisy"]:
            name += " *noisy*"
        md.append(f"| {name} | {r['conns']} | {fmt(r['rps'])} | {fmt(r['patients_s'], 0)} | "
                  f"{fmt(r['p50_ms'], 2)} | {fmt(r.get('p90_ms'), 2)} | {fmt(r['p99_ms'], 2)} | "
                  f"{fmt(r['max_ms'], 1)} | {fmt(r['non2xx'])} | {fmt(r['socket_errors'])} | "
                  f"{fmt(r['server_cpu_ms_per_req'], 3)} | {r['server_cpu_pct']:.0f} | {r['wrk_cpu_pct']:.0f} | "
                  f"{r['other_cpu_pct']:.0f} | {r['rss_end_mib']:.1f} | {r['rss_max_mib']:.1f} | "
                  f"{r['hwm_mib']:.1f} | {r['procs']} |")
    if mems:
        md += ["", "## Memory outside the load runs", "", "| server | phase | RSS MiB | HWM MiB | procs |",
               "|---|---|---|---|---|"]
        for m in mems:
            md.append(f"| {m['server']} | {m['phase']} | {m['rss_kb'] / MIB:.1f} | {m['hwm_kb'] / MIB:.1f} "
                      f"| {m['procs']} |")
    md += ["", "## Targets", "", "| target | value | limit | result |", "|---|---|---|---|"]
    for t in targets:
        v = t["value"]
        if v is None:
            shown = "n/a"
        elif t["unit"] == "x":
            shown = f"{v:.2f}x"
        elif t["unit"] == "share":
            shown = f"{v:.4f}" + (f" (anchor / caresignal = {1 / v:.1f}x)" if t["id"] == "rss_vs_anchor" and v
                                  else f" ({100 * v:.1f}%)")
        else:
            shown = f"{v:.0f} (" + ", ".join(f"{k} {n}" for k, n in t["by_server"].items()) + ")"
        md.append(f"| {t['target']} | {shown} | {t['op']} {t['limit']:g} | **{t['result']}** |")
    md += ["", "## Server CPU per request (less sensitive to other load than req/s)", ""]
    for a, b, what in ((an, cs, "anchor / caresignal, single"), (cs, fl, "caresignal / floor, single"),
                       (anb, csb, "anchor / caresignal, batch100")):
        v = ratio(a, b, "server_cpu_ms_per_req")
        md.append(f"* {what}: " + (f"{a['server_cpu_ms_per_req']:.3f} / {b['server_cpu_ms_per_req']:.3f} ms = {v:.1f}x"
                                  if v else "n/a"))
    notes = []
    if rejects:
        for e in rejects:
            notes.append(f"caresignal rejected body_batch100.json: HTTP {e['status']} {e['response'][:500]}")
    if failed_wrk:
        notes.append("wrk failed or timed out in: " + ", ".join(failed_wrk))
    if any(warm_errors.values()):
        notes.append("errors in warmup runs: " + ", ".join(f"{k} {n}" for k, n in warm_errors.items()))
    noisy = [f"{r['label']} ({r['other_cpu_pct']:.0f}%)" for r in runs if r["noisy"]]
    if noisy:
        notes.append("other processes disturbed (noisy): " + ", ".join(noisy))
    if any(p and p["noisy"] for p in pick.values()):
        notes.append("at least one figure used by the targets comes from a noisy run: rerun on a quieter machine")
    if notes:
        md += ["", "## Notes", ""] + [f"* {n}" for n in notes]
    md.append("")
    text = "\n".join(md)

    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"machine": machine, "batch_size": args.batch_size, "runs": runs, "memory": mems,
                   "rejected": rejects, "warmup_errors": warm_errors,
                   "selected": {f"{s}/{b}": (p["label"] if p else None) for (s, b), p in pick.items()},
                   "targets": targets, "all_pass": all(t["pass"] for t in targets)}, f, indent=2)
        f.write("\n")
    print(text)


if __name__ == "__main__":
    main()
