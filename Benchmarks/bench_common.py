"""What the load clients share: signing in, percentiles, and how they run."""

import asyncio
import gc


async def login(session, base, username, password):
    """The access token of `username`, through nginx; stops the run when the login fails."""
    async with session.post(f"{base}/api/auth/login", json={"username": username, "password": password}) as reply:
        body = await reply.json()
        if reply.status != 200:
            raise SystemExit(f"login of {username}: {reply.status} {body}")
        return body["token"]


def percentile(values, fraction, empty=None):
    """The value at `fraction` (0–1) of `values` sorted, nearest rank; `empty` when there are none."""
    if not values:
        return empty
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_measuring(coroutine):
    """Runs `coroutine` the way a load client should: on uvloop when it is there (a faster event
    loop, so the client measures the server rather than itself) and with the garbage collector
    off (its pauses would be counted as the server's latency; a run's garbage fits in memory)."""
    gc.disable()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(coroutine)
