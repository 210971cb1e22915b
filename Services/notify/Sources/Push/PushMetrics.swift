import Metrics

/// Push's counters, in the service's Prometheus registry (`GET /metrics` on the private listener).
struct PushMetrics: Sendable {
    /// `push_sends_total`: messages FCM took.
    let sent: Counter
    /// `push_send_failures_total`: messages FCM did not take (to be retried, refused, or given up).
    let failed: Counter
    /// `push_tokens_dropped_total`: tokens dropped because FCM reported them dead.
    let dropped: Counter
    /// `push_jobs_abandoned_total`: jobs given up after their last attempt.
    let abandoned: Counter

    /// Creates (or finds) the counters; made after the metrics system is bootstrapped.
    init() {
        sent = Counter(label: "push_sends_total")
        failed = Counter(label: "push_send_failures_total")
        dropped = Counter(label: "push_tokens_dropped_total")
        abandoned = Counter(label: "push_jobs_abandoned_total")
    }
}
