import RecsyncPrimitives

/// Byte counts written for people: `8388608`, `8MiB`, `16 MB`, `1.5 GiB`.
public enum ByteSize {
    /// Accepted units and their sizes. `KB`, `MB`, `GB` are powers of 1000;
    /// `KiB`, `MiB`, `GiB` powers of 1024. Units ignore case except that
    /// `b` alone is not accepted.
    public static let units: [(name: String, bytes: Int)] = [
        ("B", 1),
        ("KB", 1000), ("MB", 1000 * 1000), ("GB", 1000 * 1000 * 1000),
        ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024),
    ]

    /// The number of bytes, or nil when `text` is not a number followed by an
    /// optional unit from ``units``. Fractions are allowed when the result is a
    /// whole number of bytes (`1.5KiB` is 1536, `1.5B` is nil).
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        let number = String(trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == "." || $0 == "_") })
        let unitText = trimmed.dropFirst(number.count).trimmingWhitespace()
        let multiplier: Int
        if unitText.isEmpty {
            multiplier = 1
        } else if let unit = units.first(where: { $0.name.lowercased() == unitText.lowercased() && unitText != "b" }) {
            multiplier = unit.bytes
        } else {
            return nil
        }
        let digits = number.replacingBytes(of: "_", with: "")
        guard !digits.isEmpty, !digits.hasPrefix("."), !digits.hasSuffix("."),
              digits.filter({ $0 == "." }).count <= 1 else { return nil }
        if !digits.contains(".") {
            guard let value = Int(digits) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : product
        }
        guard let value = Double(digits) else { return nil }
        let bytes = value * Double(multiplier)
        guard bytes.isFinite, bytes < 9e18, bytes.rounded() == bytes else { return nil }
        return Int(bytes)
    }

    /// A short form for messages: `8 MiB` when exact, else the byte count.
    public static func format(_ bytes: Int) -> String {
        for unit in units.reversed() where unit.bytes > 1 && unit.name.hasSuffix("iB") {
            if bytes >= unit.bytes && bytes % unit.bytes == 0 {
                return "\(bytes / unit.bytes) \(unit.name)"
            }
        }
        return "\(bytes) bytes"
    }
}
