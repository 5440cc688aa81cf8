import FoundationEssentials
import RecsyncPrimitives
import Glibc

/// Finds AWS credentials the way the AWS CLI and SDKs do for static keys.
public enum CredentialsLoader {
    /// Loads credentials, in AWS order:
    /// 1. `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with optional `AWS_SESSION_TOKEN`)
    ///    from `environment`;
    /// 2. otherwise the profile `AWS_PROFILE` (default `default`) from the shared credentials
    ///    file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`, section `[NAME]`),
    ///    then from the config file (`AWS_CONFIG_FILE`, else `~/.aws/config`, section
    ///    `[profile NAME]`, or `[default]` for the default profile).
    ///
    /// - Throws: `S3ConfigurationError` naming the places searched and how to provide keys.
    public static func load(environment: [String: String], homeDirectory: String) throws -> S3Credentials {
        let envKey = nonEmpty(environment["AWS_ACCESS_KEY_ID"])
        let envSecret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        switch (envKey, envSecret) {
        case let (key?, secret?):
            return S3Credentials(accessKeyId: key, secretAccessKey: secret,
                                 sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]))
        case (_?, nil):
            throw S3ConfigurationError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or unset both to use a profile from the AWS credentials file.")
        case (nil, _?):
            throw S3ConfigurationError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or unset both to use a profile from the AWS credentials file.")
        case (nil, nil):
            break
        }

        let profile = nonEmpty(environment["AWS_PROFILE"]) ?? "default"
        let credentialsPath = expand(nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials", home: homeDirectory)
        let configPath = expand(nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config", home: homeDirectory)

        var profileFound = false
        var unsupported: [String] = []
        let candidates: [(path: String, sections: [String])] = [
            (credentialsPath, [profile]),
            (configPath, profile == "default" ? ["default", "profile default"] : ["profile \(profile)"]),
        ]
        for (path, sectionNames) in candidates {
            guard let text = try readIfPresent(path) else { continue }
            let ini = IniFile(contents: text)
            for sectionName in sectionNames {
                guard let section = ini.sections[sectionName] else { continue }
                profileFound = true
                let key = nonEmpty(section["aws_access_key_id"])
                let secret = nonEmpty(section["aws_secret_access_key"])
                if let key, let secret {
                    return S3Credentials(accessKeyId: key, secretAccessKey: secret,
                                         sessionToken: nonEmpty(section["aws_session_token"]))
                }
                if (key == nil) != (secret == nil) {
                    throw S3ConfigurationError("Profile '\(profile)' in \(path) has only one of aws_access_key_id and aws_secret_access_key: add the missing one.")
                }
                unsupported += ["role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]
                    .filter { section[$0] != nil }
            }
        }
        if !unsupported.isEmpty {
            throw S3ConfigurationError("Profile '\(profile)' uses \(unsupported.joined(separator: ", ")), which is not supported: only static keys are. Export temporary keys into the environment instead, e.g. `eval \"$(aws configure export-credentials --profile \(profile) --format env)\"`.")
        }
        if profileFound {
            throw S3ConfigurationError("Profile '\(profile)' has no aws_access_key_id/aws_secret_access_key in \(credentialsPath) or \(configPath): add them (e.g. `aws configure --profile \(profile)`) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
        }
        throw S3ConfigurationError("No AWS credentials found: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and profile '\(profile)' is not in \(credentialsPath) or \(configPath). Set the environment variables, run `aws configure`, or choose another profile with AWS_PROFILE.")
    }

    /// Warnings for the shared credentials and config files that users other than their owner
    /// can read (keys in them would be theirs too), each saying how to fix it. Environment
    /// credentials need no file, so they get none.
    public static func exposureWarnings(environment: [String: String], homeDirectory: String) -> [String] {
        if nonEmpty(environment["AWS_ACCESS_KEY_ID"]) != nil && nonEmpty(environment["AWS_SECRET_ACCESS_KEY"]) != nil { return [] }
        let paths = [expand(nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials", home: homeDirectory),
                     expand(nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config", home: homeDirectory)]
        return paths.compactMap { path in
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & 0o077 != 0,
                  let text = try? readIfPresent(path), text.contains("aws_secret_access_key") else { return nil }
            return "the AWS credentials in \(path) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); "
                + "run 'chmod 600 \(path)'"
        }
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value = value?.trimmingWhitespace(), !value.isEmpty else { return nil }
        return value
    }

    private static func expand(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }

    private static func readIfPresent(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw S3ConfigurationError("Cannot read AWS credentials file \(path): \(errorText(error)). Check its permissions and that it is UTF-8 text.")
        }
    }
}
