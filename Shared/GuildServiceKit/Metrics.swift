import HTTPTypes
import Hummingbird
import Metrics
import Prometheus

/// The process's Prometheus registry, bootstrapped into swift-metrics once.
public enum GuildMetrics {
    /// Where every metric of the process is collected.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapOnce: Void = {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }()

    /// Makes swift-metrics report into ``registry`` (idempotent).
    public static func bootstrap() { _ = bootstrapOnce }

    /// Adds `GET /metrics` in the Prometheus text format.
    public static func addRoute(to router: Router<GuildRequestContext>) {
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}
