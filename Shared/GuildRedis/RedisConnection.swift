import CHiredis

/// One blocking hiredis connection.
///
/// Not thread-safe (hence `@unchecked Sendable`): it is used by one thread at a time, checked out of ``RedisClient``'s pool or
/// owned by a subscriber. Any I/O error leaves it ``isBroken`` and it must be thrown away.
final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    private(set) var isBroken = false

    /// Connects, authenticates and selects the database. Blocks for at most the connect timeout.
    init(configuration: RedisConfiguration) throws {
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), makeTimeval(configuration.connectTimeout))
        else { throw RedisError.connection("out of memory") }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisError.connection(message)
        }
        self.context = context
        _ = redisSetTimeout(context, makeTimeval(configuration.commandTimeout))
        _ = redisEnableKeepAlive(context)
        if let password = configuration.password {
            _ = try command(["AUTH", password])
        }
        if configuration.database != 0 {
            _ = try command(["SELECT", String(configuration.database)])
        }
    }

    deinit { redisFree(context) }

    /// Sends one command and waits for its reply. Error replies throw ``RedisError/server(_:)``.
    func command(_ arguments: [String]) throws -> RedisValue {
        try append(arguments)
        return try readReply()
    }

    /// Queues a command in the output buffer without waiting (pipelining, subscriptions).
    func append(_ arguments: [String]) throws {
        let status = withArgv(arguments) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        if status != REDIS_OK { throw broken() }
    }

    /// Writes the pending output and reads the next reply, blocking up to the command timeout.
    func readReply() throws -> RedisValue {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw broken() }
        defer { freeReplyObject(raw) }
        return try Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Waits up to `milliseconds` for a reply that the server pushes (pub/sub); `nil` when none came.
    func pollReply(milliseconds: Int32) throws -> RedisValue? {
        if let value = try bufferedReply() { return value }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0 { throw broken() }
        if ready == 0 { return nil }
        guard redisBufferRead(context) == REDIS_OK else { throw broken() }
        return try bufferedReply()
    }

    // MARK: - Internals

    private func bufferedReply() throws -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw broken() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return try Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func broken() -> RedisError {
        isBroken = true
        return .connection(context.pointee.err != 0 ? Self.errorText(context) : "connection lost")
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) throws -> RedisValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(text(value))
        case REDIS_REPLY_STATUS:
            return .status(text(value))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(value.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ERROR:
            throw RedisError.server(text(value))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element[index] else { elements.append(.null); continue }
                do {
                    elements.append(try convert(element))
                } catch RedisError.server(let message) {
                    // An error nested in an array (EXEC, scripts) is data, not a failed command.
                    elements.append(.status("ERR " + message))
                }
            }
            return .array(elements)
        default:
            throw RedisError.unexpectedReply("reply type \(value.type)")
        }
    }

    private static func text(_ reply: redisReply) -> String {
        guard let pointer = reply.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: reply.len), as: UTF8.self)
    }

    private func withArgv<R>(
        _ arguments: [String],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        // hiredis copies the arguments into its output buffer, so they only live for this call.
        let buffers = arguments.map { argument in
            let bytes = Array(argument.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var argv: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        let lengths = arguments.map { $0.utf8.count }
        return argv.withUnsafeMutableBufferPointer { argvPointer in
            lengths.withUnsafeBufferPointer { body(Int32(arguments.count), argvPointer.baseAddress!, $0.baseAddress!) }
        }
    }
}

private func makeTimeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
