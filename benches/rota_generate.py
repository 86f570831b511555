#!/usr/bin/env python3
"""End-to-end time of a rota generation through the HTTP API: from the moment
`POST /plannings/{id}/generate` is sent to the moment `GET /jobs/{jobId}` says `done` (the
result is stored by then). Standard library only; one keep-alive connection, polling every
millisecond. Usage: rota_generate.py BASE_URL TOKEN DEPARTMENT_ID YEAR MONTH [RUNS]
Creates the month's services first (two Sunday services, a Wednesday rehearsal and a Saturday
evening each week, needing Soprano 3, Alto 3, Ténor 2, Basse 2), then the planning."""
import calendar
import datetime
import http.client
import json
import statistics
import sys
import time
import urllib.parse

base, token, dept, year, month = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
runs = int(sys.argv[6]) if len(sys.argv) > 6 else 20
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
H = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def call(method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=H)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


roles = [{"role": "Soprano", "count": 3}, {"role": "Alto", "count": 3},
         {"role": "Ténor", "count": 2}, {"role": "Basse", "count": 2}]
days = calendar.monthrange(year, month)[1]
created = 0
for day in range(1, days + 1):
    d = datetime.date(year, month, day)
    slots = {6: [("Culte 1", "09:00", "10:30"), ("Culte 2", "11:00", "12:30")],
             2: [("Répétition", "19:30", "21:30")], 5: [("Louange du samedi", "18:00", "19:30")]}.get(d.weekday(), [])
    for name, start, end in slots:
        s, out = call("POST", f"/api/v1/departments/{dept}/services", {
            "name": name, "serviceType": name.split()[0].lower(), "date": d.isoformat(),
            "startTime": start, "endTime": end, "location": "Temple", "requiredRoles": roles})
        assert s == 201, (s, out)
        created += 1
s, p = call("POST", f"/api/v1/departments/{dept}/plannings", {"year": year, "month": month})
assert s == 201, (s, p)
pid = p["id"]
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    s, out = call("POST", f"/api/v1/plannings/{pid}/generate")
    assert s == 202, (s, out)
    job = out["jobId"]
    while True:
        s, j = call("GET", f"/api/v1/jobs/{job}")
        if j["status"] in ("done", "failed"):
            break
        time.sleep(0.001)
    t1 = time.perf_counter()
    assert j["status"] == "done", j
    times.append((t1 - t0) * 1000)
s, p = call("GET", f"/api/v1/plannings/{pid}")
members = len({a["userId"] for sv in p["services"] for a in sv["assignments"]})
times.sort()
print(f"services {created}, slots {p['requiredSlots']}, filled {p['filledSlots']}, "
      f"confidence {p['confidenceScore']:.3f}, members assigned {members}")
print(f"generate, request → stored result, {runs} runs: p50 {statistics.median(times):.1f} ms, "
      f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
