"""The timing loop: warm-up, then inferences until the count, the time limit or a stop, their
latencies sent in batches (every FLUSH_S seconds or MAX_BATCH samples, whichever comes first)."""
import time
import traceback

from .base import AgentError, describe

FLUSH_S = 0.05  # a batch of latencies at least every 50 ms ...
MAX_BATCH = 2000  # ... or every 2000 samples, whichever comes first


class Counter(object):
    count = 0
    t = 0.0


def measure(session, feeds, request, out, stop, counter):
    perf = time.perf_counter
    count, seconds, warmup = request.get("count"), request.get("seconds"), int(request.get("warmup") or 0)
    rotate = max(len(f) for f in feeds) > 1 if feeds else False

    def feed(k):
        for i, samples in enumerate(feeds):
            session.set_input(i, samples[k % len(samples)])

    feed(0)
    k = 0
    for kind, limit in (("warmup", warmup), ("batch", count)):
        if kind == "warmup" and not warmup:
            continue
        batch, start = [], perf()
        last = start
        try:
            while not stop.is_set():
                if limit is not None and (counter.count if kind == "batch" else k) >= limit:
                    break
                t0 = perf()
                session.run()
                t1 = perf()
                batch.append(round((t1 - t0) * 1000.0, 5))
                k += 1
                if kind == "batch":
                    counter.count += 1
                    counter.t = t1 - start
                    if seconds is not None and counter.t >= seconds:
                        break
                if t1 - last >= FLUSH_S or len(batch) >= MAX_BATCH:
                    _flush(out, kind, batch, counter)
                    batch, last = [], t1
                if rotate:
                    feed(k)
        except Exception as exc:
            _flush(out, kind, batch, counter)
            raise AgentError("device", "The %s runtime failed after %d inferences: %s" % (session.runtime, k, describe(exc)),
                             traceback.format_exc())
        _flush(out, kind, batch, counter)
    return "stopped" if stop.is_set() else "done"


def _flush(out, kind, batch, counter):
    if batch:
        if kind == "batch":
            out.send("batch", ms=batch, t=round(counter.t, 6))
        else:
            out.send("warmup", ms=batch)
