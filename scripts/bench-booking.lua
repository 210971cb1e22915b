-- wrk script for scripts/bench: POST /api/booking/bookings through nginx.
--   BOOKING_MODE=spread  every request asks for its own (VM, hour) slot: all should succeed
--   BOOKING_MODE=same    every request asks for the one slot: exactly one may succeed
-- BOOKING_TOKENS (comma-separated access tokens, one per user), BOOKING_VMS (VM ids),
-- BOOKING_BASE_EPOCH (first hour, Unix seconds) and BOOKING_THREADS (wrk -t) come from the script.

local threads = 0

function setup(thread)
    thread:set("id", threads)
    threads = threads + 1
end

function init(args)
    mode = os.getenv("BOOKING_MODE") or "spread"
    base = tonumber(os.getenv("BOOKING_BASE_EPOCH"))
    nthreads = tonumber(os.getenv("BOOKING_THREADS"))
    tokens, vms = {}, {}
    for token in string.gmatch(os.getenv("BOOKING_TOKENS"), "[^,]+") do tokens[#tokens + 1] = token end
    for vm in string.gmatch(os.getenv("BOOKING_VMS"), "[^,]+") do vms[#vms + 1] = vm end
    counter = 0
end

function request()
    counter = counter + 1
    local n = counter * nthreads + id
    local slot = (mode == "same") and 0 or n
    local vm = vms[(slot % #vms) + 1]
    local start = os.date("!%Y-%m-%dT%H:%M:%SZ", base + math.floor(slot / #vms) * 3600)
    local body = string.format(
        '{"service":"bo","realm":"EU","duration":1,"start_time":"%s","game_name":"bench","vm_id":"%s"}', start, vm)
    return wrk.format("POST", "/api/booking/bookings",
        { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1] }, body)
end

function done(summary, latency, requests)
    io.write(string.format("BOOKING requests=%d non2xx=%d errors=%d p50=%.2f p99=%.2f\n",
        summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
