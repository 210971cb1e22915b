/// Discord ids (snowflakes), always carried as strings of digits: they do not fit a JSON number.
public enum DiscordId {
    /// True for 17 to 20 decimal digits (Discord ids from 2015 on).
    public static func isValid(_ text: String) -> Bool {
        (17...20).contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

extension APIError {
    /// A 400 naming `field`, which must hold a Discord id.
    public static func notADiscordId(_ field: String = "discord_id") -> APIError {
        .invalidField(field, "must be a Discord id: 17 to 20 digits, as a string")
    }
}
