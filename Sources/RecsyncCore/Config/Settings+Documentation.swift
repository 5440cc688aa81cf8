import RecsyncPrimitives

extension Settings {
    /// The settings tables of docs/CONFIGURATION.md, one per config file table, written from
    /// ``all``; a test keeps the document equal to this text.
    public static var documentation: String {
        var sections: [String] = []
        for table in [nil] + tables.map(Optional.some) {
            let heading = table.map { "### `[\($0)]`" } ?? "### Top level"
            var lines = [heading, "", "| Key | Type | Default | Meaning |", "|---|---|---|---|"]
            for setting in inTable(table) {
                let meaning = [setting.help, setting.notes].filter { !$0.isEmpty }.joined(separator: " ")
                let flag = setting.flag.map { " Flag: `\($0)`." } ?? ""
                lines.append("| `\(setting.name)` | \(setting.type.documentation) | \(setting.defaultText.replacingBytes(of: "|", with: "\\|")) | \(meaning.replacingBytes(of: "|", with: "\\|"))\(flag) |")
            }
            sections.append(lines.joined(separator: "\n"))
        }
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// The lines around ``documentation`` in docs/CONFIGURATION.md.
    public static let documentationMarkers = (begin: "<!-- settings: generated from Settings.swift; edit there -->",
                                              end: "<!-- end of settings -->")
}
