import Foundation
import XCTest
@testable import RecsyncCore

/// The settings table is where every setting comes from: the config file, `-o` options, flags,
/// validation, `--help` and docs/CONFIGURATION.md.
final class SettingsTableTests: XCTestCase {
    /// A value other than the default for every setting, as TOML and as an `-o` option.
    static let samples: [String: (toml: String, option: String)] = [
        "bucket": ("\"takes\"", "takes"),
        "region": ("\"eu-west-1\"", "eu-west-1"),
        "endpoint": ("\"http://127.0.0.1:9000\"", "http://127.0.0.1:9000"),
        "path_style": ("false", "false"),
        "path_pattern": ("\"{user_id}/{filename}\"", "{user_id}/{filename}"),
        "user_id": ("\"studio-b\"", "studio-b"),
        "state_dir": ("\"/srv/state\"", "/srv/state"),
        "allow_other": ("true", "true"),
        "kernel_passthrough": ("false", "false"),
        "allow_plain_http": ("true", "yes"),
        "log_level": ("\"debug\"", "DEBUG"),
        "metrics_address": ("\"127.0.0.1:9464\"", "127.0.0.1:9464"),
        "metrics_file": ("\"/var/lib/node-exporter/recsync.prom\"", "/var/lib/node-exporter/recsync.prom"),
        "auto_sync": ("false", "off"),
        "sync_on_mobile_data": ("true", "1"),
        "sync_on_metered_connection": ("true", "on"),
        "max_concurrent_uploads": ("9", "9"),
        "chunk_size": ("\"16MiB\"", "16MiB"),
        "retry_attempts": ("2", "2"),
        "sync_interval": ("\"1h30m\"", "5400"),
        "shutdown_grace": ("\"1m\"", "60s"),
        "stall_timeout": ("90", "1m30s"),
        "settle_delay": ("0", "0"),
        "mirror_deletes": ("true", "true"),
        "ignore_patterns": ("[\"*.tmp\", \"a:b\", \"x,y\"]", "*.tmp:a\\:b:x,y"),
        "upload_checksum": ("\"CRC32C\"", "crc32c"),
        "max_upload_rate": ("\"2MB\"", "2000000"),
        "upload_schedule": ("\"Mon-Fri 08:00-18:00 1MB, 18:00-08:00 off\"", "Mon-Fri 08:00-18:00 1MB, 18:00-08:00 off"),
        "on_event": ("[\"/usr/bin/logger\", \"-t\", \"rec sync\"]", "/usr/bin/logger:-t:rec sync"),
        "metered_interfaces": ("[\"usb*\"]", "usb*"),
        "unmetered_interfaces": ("[\"wwan0\", \"eth1\"]", "wwan0:eth1"),
        "mobile_interfaces": ("[\"usb0\"]", "usb0"),
        "wifi_interfaces": ("[\"wlp*\"]", "wlp*"),
        "ethernet_interfaces": ("[\"tun0\"]", "tun0"),
        "mobile_is_metered": ("false", "false"),
        "check_endpoint": ("true", "true"),
        "sysfs_root": ("\"/host/sys\"", "/host/sys"),
        "proc_root": ("\"/host/proc\"", "/host/proc"),
    ]

    func testEverySettingReadsTheSameFromTheFileAndFromAnOptionAndChangesItsValue() throws {
        XCTAssertEqual(Set(Settings.all.map(\.name)).count, Settings.all.count, "names are unique")
        for setting in Settings.all {
            let sample = try XCTUnwrap(Self.samples[setting.name], "a sample for \(setting.name)")
            let toml = (setting.table.map { "[\($0)]\n" } ?? "") + "\(setting.name) = \(sample.toml)\n"
            let fromFile = try RecsyncConfig.parse(toml)
            let list = try MountOptionList.parse(["\(setting.name)=\(sample.option.replacingOccurrences(of: ",", with: "\\,"))"],
                                                 environment: [:])
            try list.overrides.validate()
            let fromOption = RecsyncConfig.defaults.merged(with: list.overrides)
            XCTAssertEqual(fromFile, fromOption, "\(setting.name): the file and -o agree")
            XCTAssertNotEqual(setting.value(in: fromFile), setting.value(in: .defaults), "\(setting.name): the sample is not the default")
            // The camelCase spelling and the dashed option spelling name the same setting.
            XCTAssertEqual(Settings.named(setting.alias)?.name, setting.name)
            let dashed = try MountOptionList.parse(["\(setting.name.replacingOccurrences(of: "_", with: "-"))=\(sample.option.replacingOccurrences(of: ",", with: "\\,"))"],
                                                   environment: [:])
            XCTAssertEqual(RecsyncConfig.defaults.merged(with: dashed.overrides), fromOption, "\(setting.name) with dashes")
        }
    }

    func testEveryDefaultPassesItsOwnCheck() throws {
        XCTAssertNoThrow(try RecsyncConfig.defaults.validate(requireBucket: false))
        for setting in Settings.all {
            XCTAssertFalse(setting.help.isEmpty, setting.name)
            XCTAssertFalse(setting.defaultText.isEmpty, setting.name)
        }
    }

    func testAQuotedValueKeepsItsCommas() throws {
        let list = try MountOptionList.parse(["upload_schedule=\"Mon-Fri 08:00-18:00 1M, off\",allow_other"], environment: [:])
        let config = RecsyncConfig.defaults.merged(with: list.overrides)
        XCTAssertEqual(config.uploadSchedule, "Mon-Fri 08:00-18:00 1M, off")
        XCTAssertTrue(config.allowOther)
    }

    func testOptionsSplitOnCommasKeepEscapesAndTakeBareBooleans() throws {
        let list = try MountOptionList.parse(["allow_other,user_id=a\\,b", "ignore_patterns=", "noexec,nosuid,_netdev,x-systemd.automount,nofail,comment=x"],
                                             environment: [:])
        let config = RecsyncConfig.defaults.merged(with: list.overrides)
        XCTAssertTrue(config.allowOther)
        XCTAssertEqual(config.userId, "a,b")
        XCTAssertEqual(config.ignorePatterns, [], "an empty list uploads everything")
        XCTAssertEqual(list.kernelFlags, ["noexec", "nosuid"])
        XCTAssertEqual(list.ignored, ["_netdev", "x-systemd.automount", "nofail", "comment=x"])
        XCTAssertEqual(list.overrides.given.first?.origin, "-o allow_other")
    }

    func testOptionsOfTheirOwnSetTheConfigFileAndTheCredentialsEnvironment() throws {
        let list = try MountOptionList.parse(["config=/etc/recsync/studio.toml,aws_profile=recorders,aws_shared_credentials_file=/etc/recsync/keys"],
                                             environment: [:])
        XCTAssertEqual(list.configPath, "/etc/recsync/studio.toml")
        XCTAssertEqual(list.environment, ["AWS_PROFILE": "recorders", "AWS_SHARED_CREDENTIALS_FILE": "/etc/recsync/keys"])
        XCTAssertTrue(list.overrides.given.isEmpty)
    }

    func testBadOptionsSayWhatToWrite() {
        func message(_ option: String) -> String {
            do {
                let list = try MountOptionList.parse([option], environment: [:])
                try list.overrides.validate()
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message("chunck_size=8MiB").contains("did you mean \"chunk_size\""), message("chunck_size=8MiB"))
        XCTAssertTrue(message("ro").contains("cannot be read-only"))
        XCTAssertTrue(message("aws_secret_access_key=x").contains("credentials are never taken as mount options"))
        XCTAssertTrue(message("session_token=x").contains("credentials are never taken"))
        XCTAssertTrue(message("chunk_size").hasPrefix("-o chunk_size: needs a value; write chunk_size=SIZE"), message("chunk_size"))
        XCTAssertTrue(message("chunk_size=1MiB").hasPrefix("-o chunk_size=1MiB: "), message("chunk_size=1MiB"))
        XCTAssertTrue(message("chunk_size=1MiB").contains("minimum part size"))
        XCTAssertTrue(message("auto_sync=maybe").contains("is not true or false"))
        XCTAssertTrue(message("path_style=sometimes").contains("true, false or auto"))
        XCTAssertTrue(message("retry_attempts=101").contains("out of range"))
        XCTAssertTrue(message("sync_interval=soon").contains("is not a duration"))
        XCTAssertTrue(message("state_dir=relative/dir").contains("not an absolute path"))
        XCTAssertTrue(message("on_event=./hook").contains("relative path"))
        XCTAssertTrue(message("wifi_interfaces=a/b").contains("interface names"))
        XCTAssertTrue(message("config").contains("needs the config file's path"))
        XCTAssertTrue(message("state_dir=\"/x,allow_other").contains("a double quote is not closed"), message("state_dir=\"/x,allow_other"))
        XCTAssertTrue(message("bukcet=secret-value").hasPrefix("-o bukcet: unknown option"), "the value is not echoed")
        XCTAssertEqual(message("state_dir=~/rec"), "-o state_dir=~/rec: starts with \"~\" but HOME is not set; write the full path")
        XCTAssertNoThrow(try MountOptionList.parse(["state_dir=~/rec"], environment: ["HOME": "/home/alice"]))
    }

    func testTheConfigurationDocumentListsTheTable() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CONFIGURATION.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let markers = Settings.documentationMarkers
        let begin = try XCTUnwrap(text.range(of: markers.begin + "\n"), "docs/CONFIGURATION.md has the begin marker")
        let end = try XCTUnwrap(text.range(of: markers.end), "docs/CONFIGURATION.md has the end marker")
        let written = String(text[begin.upperBound..<end.lowerBound])
        if written != Settings.documentation, ProcessInfo.processInfo.environment["RECSYNC_UPDATE_DOCS"] == "1" {
            try (String(text[..<begin.upperBound]) + Settings.documentation + String(text[end.lowerBound...]))
                .write(to: url, atomically: true, encoding: .utf8)
            return
        }
        XCTAssertEqual(written, Settings.documentation,
                       "docs/CONFIGURATION.md is behind Settings.swift; run RECSYNC_UPDATE_DOCS=1 swift test --filter SettingsTableTests to rewrite it")
    }
}
