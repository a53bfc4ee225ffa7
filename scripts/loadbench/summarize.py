#!/usr/bin/python3
"""Summarise a scripts/loadbench/run.sh results folder: write summary.md and summary.json, print summary.md.

    /usr/bin/python3 scripts/loadbench/summarize.py [--batch-size 100] RESULTS_DIR
    /usr/bin/python3 scripts/loadbench/summarize.py --saturated-rps caresignal RESULTS_DIR

Reads RESULTS_DIR/metrics.jsonl (one "load" line per measured run, of wrk or of the constant-rate
client; "mem", "error" and "warning" lines), the WRKJSON line of every warmup output, and
RESULTS_DIR/machine.txt.  With --saturated-rps SERVER it only prints the req/s of the saturated
single-patient run of SERVER that the targets use (run.sh sets the fixed rate from it).
"""
import argparse
import glob
import json
import os

SERVERS = ("caresignal", "floor", "anchor")
BODIES = ("single", "batch100", "batch100-outputs")
MIB = 1024.0


def socket_errors(w):
    return w["err_connect"] + w["err_read"] + w["err_write"] + w["err_timeout"]


def run_row(r, batch_size):
    w, cpu, mem = r["wrk"], r["cpu"], r["mem"]
    row = {"label": r["label"], "server": r["server"], "body": r["body"], "conns": r["conns"],
           "client": r.get("client", "wrk"), "offered_rps": r.get("offered_rps"),
           "attempt": r.get("attempt", 1), "noisy": r.get("noisy", False), "wrk_rc": r["wrk_rc"], "rss_end_mib": mem["rss_end_kb"] / MIB,
           "rss_max_mib": mem["rss_max_kb"] / MIB, "hwm_mib": mem["hwm_kb"] / MIB, "procs": mem["procs"],
           "wrk_cpu_pct": 100 * cpu["wrk_s"] / cpu["capacity_s"],
           "other_cpu_pct": 100 * cpu["other_s"] / cpu["capacity_s"],
           "server_cpu_pct": 100 * cpu["server_s"] / cpu["capacity_s"]}
    if w is None:  # the client failed: no figures
        row.update(rps=None, patients_s=None, p50_ms=None, p99_ms=None, max_ms=None,
                   non2xx=None, socket_errors=None, server_cpu_ms_per_req=None, requests=0)
        return row
    per = batch_size if r["body"].startswith("batch") else 1
    row.update(requests=w["requests"], rps=w["rps"], patients_s=w["rps"] * per, p50_ms=w["p50_ms"],
               p90_ms=w["p90_ms"], p99_ms=w["p99_ms"], max_ms=w["max_ms"], non2xx=w["non2xx"],
               socket_errors=socket_errors(w),
               server_cpu_ms_per_req=1000 * cpu["server_s"] / w["requests"] if w["requests"] else None)
    if row["client"] == "rate":  # the constant-rate client's own figures
        row.update(p999_ms=w.get("p999_ms"), scheduled=w.get("scheduled"), late=w.get("late"),
                   dropped=w.get("dropped"), drained=w.get("drained"), send_delay_p99_ms=w.get("send_delay_p99_ms"),
                   send_delay_max_ms=w.get("send_delay_max_ms"))
    return row


def median_run(rows, key="rps"):
    """The run with the median key (req/s; p99 for fixed-rate runs; lower middle for an even count)
    among the undisturbed runs, or, when every run was disturbed, the least disturbed one; None if
    there is none."""
    ok = [r for r in rows if r["rps"] is not None]
    clean = sorted((r for r in ok if not r["noisy"]), key=lambda r: r[key])
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
    ap.add_argument("--saturated-rps", metavar="SERVER", choices=SERVERS,
                    help="print the req/s of SERVER's saturated single-patient run and exit")
    args = ap.parse_args()

    lines = [json.loads(l) for l in open(os.path.join(args.out, "metrics.jsonl")) if l.strip()]
    runs = [run_row(r, args.batch_size) for r in lines if r["kind"] == "load"]
    mems = [r for r in lines if r["kind"] == "mem"]
    rejects = [r for r in lines if r["kind"] == "error"]
    warnings = [r for r in lines if r["kind"] == "warning"]
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

    pick = {(s, b, c): median_run([r for r in runs if r["server"] == s and r["body"] == b and r["client"] == c],
                                  "p99_ms" if c == "rate" else "rps")
            for s in SERVERS for b in BODIES for c in ("wrk", "rate")}
    if args.saturated_rps:
        p = pick[args.saturated_rps, "single", "wrk"]
        if p is None or not p["rps"]:
            raise SystemExit(f"no saturated single-patient run of {args.saturated_rps}")
        print(f"{p['rps']:.2f}")
        return
    cs, fl, an = (pick[s, "single", "wrk"] for s in SERVERS)
    csr, flr = pick["caresignal", "single", "rate"], pick["floor", "single", "rate"]
    csb, csbf, anb = (pick["caresignal", "batch100-outputs", "wrk"], pick["caresignal", "batch100", "wrk"],
                      pick["anchor", "batch100", "wrk"])

    def ratio(a, b, key):
        if a is None or b is None or a.get(key) is None or not b.get(key):
            return None
        return a[key] / b[key]

    errors = {s: warm_errors[s] + sum((r["non2xx"] or 0) + (r["socket_errors"] or 0)
                                      for r in runs if r["server"] == s) for s in SERVERS}
    failed_wrk = [r["label"] for r in runs if r["rps"] is None or r["wrk_rc"] != 0]
    rate_runs = [r for r in runs if r["client"] == "rate"]
    late = sum(r.get("late") or 0 for r in rate_runs)
    dropped = sum(r.get("dropped") or 0 for r in rate_runs)
    # p99 at the fixed rate means something only if both servers took that rate: nothing dropped
    held = csr is not None and flr is not None and csr.get("dropped") == 0 and flr.get("dropped") == 0
    cpu_us = cs["server_cpu_ms_per_req"] * 1000 if cs and cs.get("server_cpu_ms_per_req") else None
    offered = csr["offered_rps"] if csr else (flr["offered_rps"] if flr else None)
    targets = [
        {"id": "single_rps_vs_anchor", "target": "caresignal single req/s >= 60x anchor",
         "value": ratio(cs, an, "rps"), "op": ">=", "limit": 60.0, "unit": "x",
         "figures": (cs and an) and f"{fmt(cs['rps'])} / {fmt(an['rps'])} req/s"},
        {"id": "single_rps_vs_floor", "target": "caresignal single req/s >= 55% of floor",
         "value": ratio(cs, fl, "rps"), "op": ">=", "limit": 0.55, "unit": "share",
         "figures": (cs and fl) and f"{fmt(cs['rps'])} / {fmt(fl['rps'])} req/s"},
        {"id": "single_cpu_per_request", "target": "caresignal server CPU per single request <= 45 µs",
         "value": cpu_us, "op": "<=", "limit": 45.0, "unit": "us",
         "figures": cs and f"{fmt(cs['server_cpu_ms_per_req'], 4)} ms at {fmt(cs['rps'])} req/s"},
        {"id": "p99_at_rate_vs_floor",
         "target": "caresignal single p99 <= 2x floor p99, both at the same fixed rate",
         "value": ratio(csr, flr, "p99_ms") if held else None, "op": "<=", "limit": 2.0, "unit": "x",
         "figures": (csr and flr) and (f"{fmt(csr['p99_ms'], 2)} / {fmt(flr['p99_ms'], 2)} ms at "
                                       f"{fmt(offered, 0)} req/s"
                                       + ("" if held else f"; rate not held (dropped: caresignal "
                                                          f"{csr.get('dropped')}, floor {flr.get('dropped')})"))},
        {"id": "rss_vs_anchor", "target": "caresignal RSS <= 1/20 of anchor's (gunicorn master + 5 workers)",
         "value": ratio(cs, an, "rss_end_mib"), "op": "<=", "limit": 0.05, "unit": "share",
         "figures": (cs and an) and f"{cs['rss_end_mib']:.1f} / {an['rss_end_mib']:.1f} MiB"},
        {"id": "batch_patients_vs_anchor",
         "target": "caresignal batch100 patients/s >= 12x anchor, with the anchor's fields",
         "value": ratio(csb, anb, "patients_s"), "op": ">=", "limit": 12.0, "unit": "x",
         "figures": (f"{fmt(csb['patients_s'], 0)} / {fmt(anb['patients_s'], 0)} patients/s" if csb and anb else
                     "caresignal rejected the body (see Notes)" if any(e.get("body") == "batch100-outputs" for e in rejects)
                     else None)},
        {"id": "zero_errors",
         "target": "zero non-2xx and socket errors (measured, fixed-rate and warmup runs)",
         "value": float(sum(errors.values())) if not failed_wrk else None, "op": "==", "limit": 0.0,
         "unit": "count", "by_server": errors,
         "figures": f"fixed-rate runs: {late} late, {dropped} dropped" if rate_runs else None},
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
    sat = [r for r in runs if r["client"] != "rate"]
    md += ["", "## Measured runs at saturation (wrk)", "",
           "Client (wrk) and servers share the same CPUs. \"other CPU\" is what every other process on "
           "the machine used during the run (runs above the noise limit are marked *noisy* and measured "
           "again); the targets use, per server and body, the median run by req/s among the runs that "
           "were not noisy, or the least disturbed run when all were (**bold**). RSS is summed over the "
           "server's processes (gunicorn: master + workers) at the end of the run, \"max\" over 1 s samples "
           "during it, HWM = sum of VmHWM. Bodies: single = the anchor's single patient; batch100 = the "
           "anchor's 100 patients (caresignal answers in full: curves, explanations); batch100-outputs = the "
           "same with \"outputs\": [\"hazard\", \"survival\", \"expected_months\"] (the anchor's fields).",
           "",
           "| run | conns | req/s | patients/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket err "
           "| server CPU ms/req | server CPU % | wrk CPU % | other CPU % | RSS end MiB | RSS max MiB "
           "| HWM MiB | procs |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    chosen = {p["label"] for p in pick.values() if p}

    def name(r):
        n = f"**{r['label']}**" if r["label"] in chosen else r["label"]
        return n + (" *noisy*" if r["noisy"] else "")

    for r in sat:
        md.append(f"| {name(r)} | {r['conns']} | {fmt(r['rps'])} | {fmt(r['patients_s'], 0)} | "
                  f"{fmt(r['p50_ms'], 2)} | {fmt(r.get('p90_ms'), 2)} | {fmt(r['p99_ms'], 2)} | "
                  f"{fmt(r['max_ms'], 1)} | {fmt(r['non2xx'])} | {fmt(r['socket_errors'])} | "
                  f"{fmt(r['server_cpu_ms_per_req'], 3)} | {r['server_cpu_pct']:.0f} | {r['wrk_cpu_pct']:.0f} | "
                  f"{r['other_cpu_pct']:.0f} | {r['rss_end_mib']:.1f} | {r['rss_max_mib']:.1f} | "
                  f"{r['hwm_mib']:.1f} | {r['procs']} |")
    if rate_runs:
        share = f" = {100 * offered / cs['rps']:.0f}% of caresignal's saturated {fmt(cs['rps'])} req/s" \
            if offered and cs and cs["rps"] else ""
        md += ["", "## Measured runs at a fixed rate (scripts/loadbench/rate)", "",
               f"Single patient, {fmt(offered, 0)} req/s offered{share}, to caresignal and to the floor, "
               "open loop: latency counts from each request's scheduled send time, so waiting for a free "
               "connection is included. *late*: sent more than 1 ms behind its time for want of a free "
               "connection; *dropped*: fell due during the run but was still unsent 1 s after its end (the rate "
               "was not held). *send delay*: how far behind its "
               "time a request left the client (timer granularity, a busy CPU, or no free connection). The "
               "p99 target uses the run with the median p99 (**bold**).",
               "",
               "| run | conns | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms "
               "| late | dropped | send delay p99 ms | non-2xx | socket err | server CPU ms/req | server CPU % "
               "| client CPU % | other CPU % | RSS end MiB |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rate_runs:
            md.append(f"| {name(r)} | {r['conns']} | {fmt(r['offered_rps'], 0)} | {fmt(r['rps'])} | "
                      f"{fmt(r['p50_ms'], 2)} | {fmt(r.get('p90_ms'), 2)} | {fmt(r['p99_ms'], 2)} | "
                      f"{fmt(r.get('p999_ms'), 2)} | {fmt(r['max_ms'], 1)} | {fmt(r.get('late'))} | "
                      f"{fmt(r.get('dropped'))} | {fmt(r.get('send_delay_p99_ms'), 2)} | {fmt(r['non2xx'])} | "
                      f"{fmt(r['socket_errors'])} | {fmt(r['server_cpu_ms_per_req'], 3)} | "
                      f"{r['server_cpu_pct']:.0f} | {r['wrk_cpu_pct']:.0f} | {r['other_cpu_pct']:.0f} | "
                      f"{r['rss_end_mib']:.1f} |")
    if mems:
        md += ["", "## Memory outside the load runs", "", "| server | phase | RSS MiB | HWM MiB | procs |",
               "|---|---|---|---|---|"]
        for m in mems:
            md.append(f"| {m['server']} | {m['phase']} | {m['rss_kb'] / MIB:.1f} | {m['hwm_kb'] / MIB:.1f} "
                      f"| {m['procs']} |")
    md += ["", "## Targets", "", "| target | value | figures | limit | result |", "|---|---|---|---|---|"]
    for t in targets:
        v = t["value"]
        if v is None:
            shown = "n/a"
        elif t["unit"] == "x":
            shown = f"{v:.2f}x"
        elif t["unit"] == "us":
            shown = f"{v:.1f} µs"
        elif t["unit"] == "share":
            shown = f"{v:.4f}" + (f" (anchor / caresignal = {1 / v:.1f}x)" if t["id"] == "rss_vs_anchor" and v
                                  else f" ({100 * v:.1f}%)")
        else:
            shown = f"{v:.0f} (" + ", ".join(f"{k} {n}" for k, n in t["by_server"].items()) + ")"
        md.append(f"| {t['target']} | {shown} | {t.get('figures') or ''} | {t['op']} {t['limit']:g} "
                  f"| **{t['result']}** |")
    reported = [
        ("caresignal batch100 patients/s, full answers (curves, explanations), vs anchor",
         ratio(csbf, anb, "patients_s"), (csbf and anb) and f"{fmt(csbf['patients_s'], 0)} / {fmt(anb['patients_s'], 0)} patients/s"),
        ("caresignal single p99 vs floor p99, both at saturation (c=" + (str(cs["conns"]) if cs else "?") + ")",
         ratio(cs, fl, "p99_ms"), (cs and fl) and f"{fmt(cs['p99_ms'], 2)} / {fmt(fl['p99_ms'], 2)} ms"),
    ]
    md += ["", "Reported, not targets:", ""]
    for what, v, figures in reported:
        md.append(f"* {what}: " + (f"{v:.2f}x ({figures})" if v is not None else "n/a"))
    md += ["", "## Server CPU per request (less sensitive to other load than req/s)", ""]
    for a, b, what in ((an, cs, "anchor / caresignal, single"), (cs, fl, "caresignal / floor, single"),
                       (csr, flr, "caresignal / floor, single at the fixed rate"),
                       (anb, csb, "anchor / caresignal, batch100 with the anchor's fields"),
                       (anb, csbf, "anchor / caresignal, batch100 in full")):
        v = ratio(a, b, "server_cpu_ms_per_req")
        md.append(f"* {what}: " + (f"{a['server_cpu_ms_per_req']:.3f} / {b['server_cpu_ms_per_req']:.3f} ms = {v:.1f}x"
                                  if v else "n/a"))
    notes = []
    for e in rejects:
        notes.append(f"caresignal rejected {e.get('file', 'body_batch100.json')}: HTTP {e['status']} "
                     f"{e['response'].strip()[:500]} (its run was skipped)")
    for e in warnings:
        notes.append(f"{e['server']}, {e['body']}: {e['text']}")
    if failed_wrk:
        notes.append("the client failed or timed out in: " + ", ".join(failed_wrk))
    if any(warm_errors.values()):
        notes.append("errors in warmup runs: " + ", ".join(f"{k} {n}" for k, n in warm_errors.items()))
    for r in rate_runs:
        if r.get("dropped") or r.get("late"):
            notes.append(f"{r['label']}: {fmt(r.get('late'))} late, {fmt(r.get('drained'))} sent after the end, "
                         f"{fmt(r.get('dropped'))} dropped, of {fmt(r.get('scheduled'))} scheduled")
    if rate_runs and not held:
        notes.append("the fixed rate was not held by both servers (requests dropped, or a run is missing): "
                     "no p99 comparison")
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
                   "rejected": rejects, "warnings": warnings, "warmup_errors": warm_errors,
                   "fixed_rate": {"offered_rps": offered, "saturated_rps": cs["rps"] if cs else None,
                                  "held": held, "late": late, "dropped": dropped} if rate_runs else None,
                   "selected": {f"{s}/{b}" + ("@rate" if c == "rate" else ""): (p["label"] if p else None)
                                for (s, b, c), p in pick.items() if p or c == "wrk"},
                   "reported": [{"what": w, "value": v, "figures": f} for w, v, f in reported],
                   "targets": targets, "all_pass": all(t["pass"] for t in targets)}, f, indent=2)
        f.write("\n")
    print(text)


if __name__ == "__main__":
    main()
