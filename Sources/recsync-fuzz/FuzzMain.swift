import Foundation
import RecsyncFuzzTargets

// recsync-fuzz TARGET [INPUT...]
//
// Built normally, it replays inputs (files, or folders of files) through a fuzz target and
// exits non-zero on the first broken promise: the way to check a crash libFuzzer found, or a
// whole corpus. Built by scripts/libfuzzer.sh (RECSYNC_LIBFUZZER, coverage instrumentation and
// libFuzzer linked in), it is a coverage-guided fuzzer: every argument after TARGET goes to
// libFuzzer (corpus folders, -max_total_time=N, ...).

func usage() -> Never {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    FileHandle.standardError.write(Data("usage: recsync-fuzz TARGET [INPUT...]\ntargets: \(names)\n".utf8))
    exit(2)
}

/// The target the libFuzzer callback runs; set once before the driver starts.
nonisolated(unsafe) var selectedTarget = FuzzTarget.httpDate

func runSelected(_ bytes: [UInt8]) {
    let broken = selectedTarget.check(bytes)
    if !broken.isEmpty {
        fatalError("\(selectedTarget.rawValue): \(broken.joined(separator: "; "))")
    }
}

#if RECSYNC_LIBFUZZER
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

// SwiftPM links an executable's entry point under this name; libFuzzer's driver is started
// from it, so the fuzzer's own main() (which would clash) is never linked in.
@_cdecl("recsync_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    guard argc >= 2, let argv, let name = argv[1], let target = FuzzTarget(rawValue: String(cString: name)) else { usage() }
    selectedTarget = target
    // libFuzzer sees the program name followed by the arguments after TARGET.
    var rest: [UnsafeMutablePointer<CChar>?] = [argv[0]] + (2..<Int(argc)).map { argv[$0] } + [nil]
    var count = argc - 1
    return rest.withUnsafeMutableBufferPointer { buffer in
        var vector = buffer.baseAddress
        return LLVMFuzzerRunDriver(&count, &vector) { data, size in
            runSelected(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
    }
}
#else
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else { usage() }
        selectedTarget = target
        var files: [String] = []
        for input in arguments.dropFirst() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("recsync-fuzz: \(input) does not exist\n".utf8))
                exit(2)
            }
            if isFolder.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []
                files += names.sorted().map { input + "/" + $0 }
            } else {
                files.append(input)
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let broken = target.check(Array(data))
            if !broken.isEmpty {
                print("\(file): \(broken.joined(separator: "; "))")
                exit(1)
            }
        }
        print("\(target.rawValue): \(files.count) inputs, every promise kept")
    }
}
#endif
