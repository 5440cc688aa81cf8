import Foundation
import XCTest

/// `make install` puts the binary, man pages, completions, systemd units and the file-manager
/// extension under PREFIX in DESTDIR, and `make uninstall` takes them away again.
final class InstallTests: XCTestCase {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func make(_ target: String, destination: URL, prefix: String) throws -> CommandResult {
        let built = URL(fileURLWithPath: MountFixture.binary).deletingLastPathComponent().path
        // The suite's own build, not a new one: SWIFT=: skips building.
        return try Shell.run(["make", "-C", Self.repository.path, target, "DESTDIR=\(destination.path)", "PREFIX=\(prefix)",
                              "SWIFT=:", "BUILT=\(built)"], timeout: 300)
    }

    func files(under folder: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        var found: [String] = []
        while let path = enumerator?.nextObject() as? String {
            // Links too, even ones that point outside DESTDIR (the mount helper's).
            let type = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(path).path))?[.type] as? FileAttributeType
            if let type, type != .typeDirectory { found.append(path) }
        }
        return found.sorted()
    }

    func testInstallAndUninstallIntoADestdir() throws {
        let stage = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: stage) }
        let installed = try make("install", destination: stage, prefix: "/opt/recsync")
        XCTAssertTrue(installed.succeeded, installed.stdout + installed.stderr)
        let tree = files(under: stage)
        for expected in ["opt/recsync/bin/recsync", "opt/recsync/share/man/man1/recsync.1", "opt/recsync/share/man/man1/recsync.mount.1",
                         "opt/recsync/share/man/man1/recsync.doctor.1", "opt/recsync/share/bash-completion/completions/recsync",
                         "opt/recsync/share/zsh/site-functions/_recsync", "opt/recsync/share/fish/vendor_completions.d/recsync.fish",
                         "opt/recsync/lib/systemd/system/recsync@.service", "opt/recsync/lib/systemd/user/recsync@.service",
                         "opt/recsync/share/nautilus-python/extensions/recsync_file_manager.py",
                         "opt/recsync/share/nemo-python/extensions/recsync_file_manager.py",
                         "opt/recsync/share/caja-python/extensions/recsync_file_manager.py"] {
            XCTAssertTrue(tree.contains(expected), "\(expected) is installed: \(tree)")
        }
        let helper = try FileManager.default.destinationOfSymbolicLink(atPath: stage.appendingPathComponent("sbin/mount.fuse.recsync").path)
        XCTAssertEqual(helper, "/opt/recsync/bin/recsync", "mount(8) finds the helper in /sbin, a link to the installed binary")
        let root = stage.appendingPathComponent("opt/recsync")
        let version = try Shell.run([root.appendingPathComponent("bin/recsync").path, "version"])
        XCTAssertTrue(version.succeeded && version.stdout.hasPrefix("recsync "), version.stdout + version.stderr)
        let manual = try String(contentsOf: root.appendingPathComponent("share/man/man1/recsync.mount.1"), encoding: .utf8)
        XCTAssertTrue(manual.contains(".Dt RECSYNC.MOUNT 1") || manual.contains(".TH"), String(manual.prefix(300)))
        XCTAssertTrue(manual.contains("bucket"), "the page documents the options")
        let bash = try String(contentsOf: root.appendingPathComponent("share/bash-completion/completions/recsync"), encoding: .utf8)
        XCTAssertTrue(bash.contains("sync-now") && bash.contains("doctor"), "completions know the subcommands")
        for unit in ["lib/systemd/system/recsync@.service", "lib/systemd/user/recsync@.service"] {
            let text = try String(contentsOf: root.appendingPathComponent(unit), encoding: .utf8)
            XCTAssertTrue(text.contains("ExecStart=/opt/recsync/bin/recsync mount --foreground %f"), "\(unit) runs the installed binary")
        }
        let extensionSource = try String(contentsOf: Self.repository.appendingPathComponent("mount-helpers/file-manager/recsync_file_manager.py"),
                                   encoding: .utf8)
        for loader in ["nautilus-python", "nemo-python", "caja-python"] {
            let installed = try String(contentsOf: root.appendingPathComponent("share/\(loader)/extensions/recsync_file_manager.py"),
                                       encoding: .utf8)
            XCTAssertEqual(installed, extensionSource, "\(loader) gets the extension from mount-helpers/file-manager")
        }

        let removed = try make("uninstall", destination: stage, prefix: "/opt/recsync")
        XCTAssertTrue(removed.succeeded, removed.stdout + removed.stderr)
        XCTAssertEqual(files(under: stage), [], "uninstall removes every file install put there")
    }
}
