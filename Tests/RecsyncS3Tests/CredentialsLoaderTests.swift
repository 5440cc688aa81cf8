import Foundation
import XCTest
@testable import RecsyncS3

final class CredentialsLoaderTests: XCTestCase {
    var home = ""

    override func setUpWithError() throws {
        home = NSTemporaryDirectory() + "recsync-home-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: home)
    }

    private func write(_ text: String, to relative: String) throws {
        try text.write(toFile: home + "/" + relative, atomically: true, encoding: .utf8)
    }

    func testEnvironmentWins() throws {
        try write("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n", to: ".aws/credentials")
        let credentials = try CredentialsLoader.load(environment: [
            "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRET", "AWS_SESSION_TOKEN": "TOKEN",
        ], homeDirectory: home)
        XCTAssertEqual(credentials, S3Credentials(accessKeyId: "ENVKEY", secretAccessKey: "ENVSECRET", sessionToken: "TOKEN"))
    }

    func testACredentialsFileOthersCanReadGetsAWarningSayingHowToFixIt() throws {
        try write("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n", to: ".aws/credentials")
        let path = home + "/.aws/credentials"
        XCTAssertEqual(chmod(path, 0o644), 0)
        let warnings = CredentialsLoader.exposureWarnings(environment: [:], homeDirectory: home)
        XCTAssertEqual(warnings, ["the AWS credentials in \(path) can be read by other users (mode 644); run 'chmod 600 \(path)'"])
        XCTAssertFalse(warnings.joined().contains("FILESECRET"), "never the secret itself")
        XCTAssertEqual(chmod(path, 0o600), 0)
        XCTAssertEqual(CredentialsLoader.exposureWarnings(environment: [:], homeDirectory: home), [])
        XCTAssertEqual(chmod(path, 0o644), 0)
        XCTAssertEqual(CredentialsLoader.exposureWarnings(environment: ["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"], homeDirectory: home), [],
                       "keys from the environment do not use the file")
    }

    func testHalfSetEnvironmentIsAnError() {
        XCTAssertThrowsError(try CredentialsLoader.load(environment: ["AWS_ACCESS_KEY_ID": "K"], homeDirectory: home)) { error in
            XCTAssertTrue("\(error)".contains("AWS_SECRET_ACCESS_KEY is not"), "\(error)")
        }
    }

    func testDefaultProfileFromCredentialsFile() throws {
        try write("""
        # comment
        [other]
        aws_access_key_id=OTHER
        aws_secret_access_key=OTHERSECRET

        [default]
        aws_access_key_id = DEFKEY
        aws_secret_access_key = DEFSECRET
        s3 =
          max_concurrent_requests = 4
        """, to: ".aws/credentials")
        let credentials = try CredentialsLoader.load(environment: [:], homeDirectory: home)
        XCTAssertEqual(credentials, S3Credentials(accessKeyId: "DEFKEY", secretAccessKey: "DEFSECRET"))
    }

    func testNamedProfileFromConfigFileAndExplicitPaths() throws {
        let config = home + "/custom-config"
        try "[profile studio]\naws_access_key_id = STUDIOKEY\r\naws_secret_access_key = STUDIOSECRET\r\naws_session_token = TOK\r\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        // A "[studio]" section in the config file is not the named profile (it needs "profile ").
        try write("[studio]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n", to: ".aws/config")
        let credentials = try CredentialsLoader.load(environment: [
            "AWS_PROFILE": "studio", "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": home + "/missing",
        ], homeDirectory: home)
        XCTAssertEqual(credentials, S3Credentials(accessKeyId: "STUDIOKEY", secretAccessKey: "STUDIOSECRET", sessionToken: "TOK"))
    }

    func testCredentialsFileBeatsConfigFile() throws {
        try write("[default]\naws_access_key_id = CONFIGKEY\naws_secret_access_key = CONFIGSECRET\n", to: ".aws/config")
        try write("[default]\naws_access_key_id = CREDKEY\naws_secret_access_key = CREDSECRET\n", to: ".aws/credentials")
        XCTAssertEqual(try CredentialsLoader.load(environment: [:], homeDirectory: home).accessKeyId, "CREDKEY")
    }

    func testMissingProfileExplainsWhereItLooked() {
        XCTAssertThrowsError(try CredentialsLoader.load(environment: ["AWS_PROFILE": "nope"], homeDirectory: home)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'nope'") && text.contains(".aws/credentials") && text.contains("aws configure"), text)
        }
    }

    func testUnsupportedProfileKindsAreNamed() throws {
        try write("[profile sso]\nsso_session = corp\n", to: ".aws/config")
        XCTAssertThrowsError(try CredentialsLoader.load(environment: ["AWS_PROFILE": "sso"], homeDirectory: home)) { error in
            XCTAssertTrue("\(error)".contains("sso_session"), "\(error)")
        }
    }
}
