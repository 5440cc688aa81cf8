import FoundationEssentials
import RecsyncFS
import Synchronization
import RecsyncPrimitives

/// Runs a helper program and returns what it printed, or nil when it is missing, fails or takes
/// longer than `timeout`. Injected so tests can play NetworkManager and ModemManager.
public protocol CommandRunner: Sendable {
    func run(_ arguments: [String], timeout: TimeInterval) -> String?
}

/// Runs programs found in `PATH` (``ChildProcess``), with nothing of ours in their environment.
public struct ProcessRunner: CommandRunner {
    public init() {}

    public func run(_ arguments: [String], timeout: TimeInterval) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"]
        guard let name = arguments.first, let program = ChildProcess.find(name, path: path) else { return nil }
        // No AWS credentials (or anything else of ours) in a helper's environment.
        let child = ChildProcess(executable: program, arguments: Array(arguments.dropFirst()),
                                 environment: ["PATH": path ?? "/usr/bin:/bin", "LC_ALL": "C"])
        guard let result = try? child.capture(timeout: timeout), result.exitCode == 0 else { return nil }
        return String(decoding: result.output, as: UTF8.self)
    }
}

/// NetworkManager's own Metered setting of a device, through `nmcli` (its command-line client,
/// which talks to NetworkManager over D-Bus). Nil when NetworkManager does not run or does not know.
struct NetworkManagerQuery {
    let runner: any CommandRunner

    enum Answer: Equatable {
        case yes, no
        /// NetworkManager guessed (for example from the device being a modem or a phone hotspot).
        case guessedYes, guessedNo
    }

    func isRunning() -> Bool {
        runner.run(["nmcli", "-t", "-f", "RUNNING", "general"], timeout: 2)?
            .trimmingWhitespace() == "running"
    }

    func metered(_ interface: String) -> Answer? {
        guard isRunning(), let output = runner.run(["nmcli", "-t", "-f", "GENERAL.METERED", "device", "show", interface], timeout: 2)
        else { return nil }
        return Self.parse(output)
    }

    /// `GENERAL.METERED:yes (guessed)` and the like.
    static func parse(_ output: String) -> Answer? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("GENERAL.METERED:") }) else { return nil }
        let value = line.dropFirst("GENERAL.METERED:".count).trimmingWhitespace().lowercased()
        switch value {
        case "yes": return .yes
        case "no": return .no
        case "yes (guessed)": return .guessedYes
        case "no (guessed)": return .guessedNo
        default: return nil
        }
    }
}

/// The network interfaces of the modems ModemManager manages, through `mmcli`.
struct ModemManagerQuery {
    let runner: any CommandRunner

    func modemInterfaces() -> Set<String> {
        guard let list = runner.run(["mmcli", "-K", "-L"], timeout: 2) else { return [] }
        var result: Set<String> = []
        for path in Self.values(list, key: "modem-list.value") {
            guard let number = path.split(separator: "/").last,
                  let details = runner.run(["mmcli", "-K", "-m", String(number)], timeout: 2) else { continue }
            // Ports look like `wwan0 (net)`, `cdc-wdm0 (qmi)`.
            for port in Self.values(details, key: "modem.generic.ports.value") where port.hasSuffix("(net)") {
                result.insert(String(port.split(separator: " ")[0]))
            }
        }
        return result
    }

    /// The values of `key[1]`, `key[2]`, ... in mmcli's key-value output (`key[1] : value`).
    static func values(_ output: String, key: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingWhitespace().hasPrefix(key + "[") else { return nil }
            let value = parts[1].trimmingWhitespace()
            return value.isEmpty || value == "--" ? nil : value
        }
    }
}
