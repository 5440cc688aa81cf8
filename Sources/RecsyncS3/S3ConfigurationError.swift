/// A problem with the S3 settings (credentials, endpoint, region) found before any request is
/// sent. `message` says what is wrong and how to fix it.
public struct S3ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
