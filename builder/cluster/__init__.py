"""Several Forja workers on one Redis (REDIS_URL): what one worker does, the others see.

Without REDIS_URL none of this is used and everything stays in the process, as on one laptop. With it:
- `leases`: a key one worker holds for a while and keeps alive; when the worker dies, the key expires and the others
  know (the generation guard per project, the leader that runs the sweeps).
- `logs`: every project's log lines go through one Redis stream that every worker reads, so any worker shows any
  preview's or generation's lines.
- `generations`: a generation runs in the worker that started it; its events go through a Redis stream per project, so
  a page served by any worker follows it, and a worker that dies mid-generation is noticed by the others.
- `previews`: which worker runs each preview (a project's own, a share link's version), so any worker answers for it
  and asks its worker to act on it: one preview per project and per shared version, whichever worker is asked.
- `presence`: who has each project open, an entry per open page with a short TTL that its page's heartbeat renews, and
  its changes said over pub/sub, so a page on any worker sees people join, move and leave.
- `leader`: the sweep that must run once at a time (generations of dead workers) runs on the worker that holds the
  leader lease.
Reflex's own state goes to Redis through its state manager (rxconfig sets its redis_url).
"""
