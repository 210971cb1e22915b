import GuildServiceKit
import Hummingbird
import ServiceLifecycle

/// Push notifications through FCM HTTP v1, put together from the settings: the routes under
/// `/api/notifications`, the sender, and the `push` component of health. With push off (no
/// `FCM_SERVICE_ACCOUNT_FILE`) the routes still register and remove tokens, the test send
/// answers 503 `push_disabled`, ``queue`` queues nothing and there is no sender.
struct PushNotifications: Sendable {
    /// Registered devices.
    let tokens: PushTokenRepository
    /// FCM; nil when push is off.
    let fcm: FCMClient?
    let metrics: PushMetrics
    let settings: PushSettings
    let dependencies: ServiceDependencies
    /// What inbox entries queue for phones: on exactly when FCM is configured.
    var queue: PushQueue { PushQueue(isEnabled: fcm != nil) }

    init(dependencies: ServiceDependencies, settings: PushSettings) async {
        self.settings = settings
        self.dependencies = dependencies
        tokens = PushTokenRepository(database: dependencies.database)
        metrics = PushMetrics()
        fcm = if let configuration = settings.fcm { await FCMClient(configuration: configuration) } else { nil }
        if let configuration = settings.fcm {
            dependencies.logger.info("push is on", metadata: ["project_id": "\(configuration.account.projectId)", "fcm": "\(configuration.apiBase)"])
        } else {
            dependencies.logger.notice("push is off: FCM_SERVICE_ACCOUNT_FILE is not set")
        }
    }

    /// `register-token` and (admins) `test`, for ``ServiceRoutes/signedIn(_:_:)`` under `/api/notifications`.
    var controller: PushController {
        PushController(tokens: tokens, fcm: fcm, metrics: metrics, database: dependencies.database)
    }

    /// `"push": "on"` or `"off"` in health; off is no failure.
    var health: HealthComponent {
        let on = fcm != nil
        return HealthComponent("push") { on ? "on" : "off" }
    }

    /// The sender, and what turns broadcasts into push jobs, when push is on.
    var jobs: [any Service] {
        guard let fcm else { return [] }
        return [
            PushSender(
                database: dependencies.database, fcm: fcm, metrics: metrics, interval: settings.jobsInterval, retryCap: settings.retryCap,
                logger: dependencies.logger
            ),
            BroadcastPusher(database: dependencies.database, interval: settings.jobsInterval, logger: dependencies.logger),
        ]
    }
}
