/// Small number formats, the `String(format:)` cases the daemon needs without Foundation.
public enum NumberText {
    /// `value` in decimal, padded on the left with `pad` to at least `width` characters
    /// (`%3d` is `padded(v, width: 3, pad: " ")`, `%02d` is `padded(v, width: 2)`).
    public static func padded(_ value: some BinaryInteger, width: Int, pad: Character = "0") -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: pad, count: width - digits.count) + digits
    }

    /// The low byte of `value` as two uppercase hex digits (`%02X`).
    public static func hexByte(_ value: some BinaryInteger) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        let byte = Int(truncatingIfNeeded: value) & 0xFF
        return String([digits[byte >> 4], digits[byte & 0xF]])
    }

    /// A byte count for people, as Foundation's `ByteCountFormatter` writes it (file style):
    /// `Zero KB`, `1 byte`, `1,000 bytes`, `12 KB`, `1.5 MB`, `2.25 GB`: whole KB, one decimal
    /// for MB, two above, trailing zeros dropped, halves rounded to even. `binary` counts in
    /// 1024s instead of 1000s, with the same unit names.
    public static func byteCount(_ count: Int64, binary: Bool = false) -> String {
        if count == 0 { return "Zero KB" }
        let sign = count < 0 ? "-" : ""
        let base = binary ? 1024.0 : 1000.0
        var value = Double(count.magnitude)
        if value < base { return sign + grouped(count.magnitude) + (count.magnitude == 1 ? " byte" : " bytes") }
        let units = ["KB", "MB", "GB", "TB", "PB", "EB"]
        var unit = 0
        value /= base
        while value >= base && unit < units.count - 1 { value /= base; unit += 1 }
        let scale: UInt64 = unit == 0 ? 1 : unit == 1 ? 10 : 100
        let scaled = UInt64((value * Double(scale)).rounded(.toNearestOrEven))
        var fraction = scale == 1 ? "" : padded(scaled % scale, width: scale == 10 ? 1 : 2)
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return sign + grouped(scaled / scale) + (fraction.isEmpty ? "" : "." + fraction) + " " + units[unit]
    }

    /// `1234567` -> `1,234,567`.
    static func grouped(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }
}
