import AuthService
import BookingService
import GuildServiceKit
import LevelingService
import NotifyService
import TicketsService

/// The services Guildhall runs, in start order (auth first: it signs the tokens the others verify).
///
/// `guildctl` works through this list; the tests check `scripts/lib.sh`, the nginx template and
/// `compose/` against it, so a service added here but not there fails them.
public enum GuildStack {
    /// Every service.
    public static let services: [ServiceDescriptor] = [.auth, .booking, .tickets, .leveling, .notify]

    /// The service called `name`, if there is one.
    public static func service(named name: String) -> ServiceDescriptor? {
        services.first { $0.name == name }
    }
}
