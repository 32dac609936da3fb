-- wrk script: POST the photo in $BENCH_PHOTO to /api/colorize as a multipart upload, like
--   curl -F image=@photo.jpg http://HOST/api/colorize
-- and print a JSON summary (latency in microseconds) on the last line of the output.
local path = os.getenv("BENCH_PHOTO")
local file = assert(io.open(path, "rb"))
local photo = file:read("*all")
file:close()

local boundary = "----colorizer-bench-7d9f2a"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n"
    .. photo .. "\r\n"
    .. "--" .. boundary .. "--\r\n"

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
        .. '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
        summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
