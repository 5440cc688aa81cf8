import ArgumentParser
import FoundationEssentials
import RecsyncFS
import Glibc
import RecsyncPrimitives

/// `recsync`: a recordings folder that keeps itself safe in S3.
@main
struct Recsync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recsync",
        abstract: "Mount a recordings folder whose closed files are uploaded to S3.",
        discussion: """
        Files written into the mounted folder stay on local disk and are uploaded in the background \
        once closed. Ask any file how far it got: getfattr -n user.sync.status FILE
        Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) or \
        AWS_PROFILE with ~/.aws/credentials and ~/.aws/config; never from the command line.
        """,
        version: RecsyncVersion.report,
        subcommands: [MountCommand.self, UnmountCommand.self, StatusCommand.self, SyncNowCommand.self, RetryCommand.self],
        groupedSubcommands: [
            CommandGroup(name: "Maintenance", subcommands: [
                QueueCommand.self, EventsCommand.self, ImportCommand.self, DrainCommand.self, VerifyCommand.self,
                DoctorCommand.self, VersionCommand.self,
            ]),
        ]
    )

    /// Arguments are taken as the bytes the shell passed: a file name that is not valid UTF-8
    /// keeps its bytes (`NameCoding`), where `CommandLine.arguments` would replace them.
    static func main() {
        let arguments = (1..<Int(CommandLine.argc)).compactMap { index in
            CommandLine.unsafeArgv[index].map { NameCoding.text(cString: $0) }
        }
        let program = CommandLine.unsafeArgv[0].map { String(cString: $0) } ?? "recsync"
        let subcommands = Set(configuration.subcommands.map { $0._commandName })
        do {
            if let translated = try FstabInvocation.arguments(program: program, arguments: arguments, subcommands: subcommands) {
                run(translated, failureCode: FstabInvocation.mountFailure)
            } else {
                run(arguments)
            }
        } catch {
            exitWith(error)
        }
    }

    /// Parses and runs a command. Commands throw; ArgumentParser's own errors (unknown
    /// options, `validate()`'s `ValidationError`, `--help`) are printed the ArgumentParser way
    /// with its exit codes (64 for usage), and recsync's errors as one `recsync: error:` line
    /// with theirs (``CLIError``: 1, or 64 for usage; anything else: 1).
    ///
    /// - Parameter failureCode: for mount(8)'s helper: every failure exits with this code.
    static func run(_ arguments: [String], failureCode: Int32? = nil) {
        func fail(_ error: any Error) -> Never {
            guard let failureCode, exitCode(for: error) != .success else { exit(withError: error) }
            StandardStream.error("recsync: error: \((error as? CLIError)?.message ?? fullMessage(for: error))\n")
            Glibc.exit(failureCode)
        }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            fail(error)
        }
        do {
            try command.run()
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // ValidationError, ExitCode, CleanExit, and the help command's own.
            fail(error)
        } catch {
            if failureCode != nil { fail(error) }
            exitWith(error)
        }
    }
}

enum RecsyncVersion {
    static let current = "0.1.0"
}

/// A failure the user can fix: printed as one line, exit status 64 (usage) or 1 (runtime).
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }

    static func usage(_ message: String) -> CLIError { CLIError(message, exitCode: 64) }
}

/// Prints a one-line error and exits with its status.
func exitWith(_ error: any Error) -> Never {
    let message: String
    let code: Int32
    switch error {
    case let cli as CLIError:
        message = cli.message
        code = cli.exitCode
    default:
        message = "\(error)"
        code = 1
    }
    StandardStream.error("recsync: error: \(message)\n")
    exit(code)
}
