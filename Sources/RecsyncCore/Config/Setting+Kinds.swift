/// Builders for the entries of ``Settings``: one per kind of field in ``RecsyncConfig``.
extension Setting {
    typealias Field<Value> = WritableKeyPath<RecsyncConfig, Value> & Sendable

    init(_ name: String, _ type: SettingType, table: String?, help: String, notes: String, defaultDescription: String?, flag: String?,
         problem: @escaping @Sendable (SettingValue) -> String?,
         get: @escaping @Sendable (RecsyncConfig) -> SettingValue?,
         set: @escaping @Sendable (inout RecsyncConfig, SettingValue) -> Void) {
        self.name = name
        self.table = table
        self.type = type
        self.help = help
        self.notes = notes
        self.defaultDescription = defaultDescription
        self.flag = flag
        self.problem = problem
        self.get = get
        self.set = set
    }

    static func text(_ name: String, _ field: Field<String>, type: SettingType = .text, table: String? = nil, help: String,
                     notes: String = "", defaultDescription: String? = nil, flag: String? = nil,
                     check: @escaping @Sendable (String) -> String? = { _ in nil },
                     normalize: @escaping @Sendable (String) -> String = { $0 }) -> Setting {
        Setting(name, type, table: table, help: help, notes: notes, defaultDescription: defaultDescription, flag: flag,
                problem: { value in value.text.map(check) ?? "must be a string" },
                get: { .text($0[keyPath: field]) },
                set: { config, value in if let text = value.text { config[keyPath: field] = normalize(text) } })
    }

    static func optionalText(_ name: String, _ field: Field<String?>, type: SettingType = .text, table: String? = nil, help: String,
                             notes: String = "", defaultDescription: String, flag: String? = nil,
                             check: @escaping @Sendable (String) -> String?) -> Setting {
        Setting(name, type, table: table, help: help, notes: notes, defaultDescription: defaultDescription, flag: flag,
                problem: { value in value.text.map(check) ?? "must be a string" },
                get: { config in config[keyPath: field].map { .text($0) } },
                set: { config, value in config[keyPath: field] = value.text })
    }

    static func boolean(_ name: String, _ field: Field<Bool>, table: String? = nil, help: String, notes: String = "",
                        flag: String? = nil) -> Setting {
        Setting(name, .boolean, table: table, help: help, notes: notes, defaultDescription: nil, flag: flag,
                problem: { $0.boolean == nil ? "must be true or false" : nil },
                get: { .boolean($0[keyPath: field]) },
                set: { config, value in if let flag = value.boolean { config[keyPath: field] = flag } })
    }

    static func booleanOrAuto(_ name: String, _ field: Field<Bool?>, table: String? = nil, help: String, notes: String = "",
                              flag: String? = nil) -> Setting {
        Setting(name, .booleanOrAuto, table: table, help: help, notes: notes, defaultDescription: "automatic", flag: flag,
                problem: { $0 == .automatic || $0.boolean != nil ? nil : "must be true, false or \"auto\"" },
                get: { config in config[keyPath: field].map { .boolean($0) } ?? .automatic },
                set: { config, value in config[keyPath: field] = value.boolean })
    }

    static func integer(_ name: String, _ field: Field<Int>, table: String? = nil, range: ClosedRange<Int>, help: String,
                        notes: String = "") -> Setting {
        Setting(name, .integer, table: table, help: help,
                notes: notes.isEmpty ? "\(range.lowerBound) to \(range.upperBound)." : notes, defaultDescription: nil, flag: nil,
                problem: { value in value.number.map { ConfigValidation.rangeProblem($0, range) } ?? "must be a whole number" },
                get: { .number($0[keyPath: field]) },
                set: { config, value in if let number = value.number { config[keyPath: field] = number } })
    }

    static func bytes(_ name: String, _ field: Field<Int>, table: String? = nil, help: String, notes: String = "",
                      check: @escaping @Sendable (Int) -> String?) -> Setting {
        number(name, field, type: .bytes, table: table, help: help, notes: notes, check: check)
    }

    static func seconds(_ name: String, _ field: Field<Int>, table: String? = nil, help: String, notes: String = "",
                        check: @escaping @Sendable (Int) -> String?) -> Setting {
        number(name, field, type: .seconds, table: table, help: help, notes: notes, check: check)
    }

    static func number(_ name: String, _ field: Field<Int>, type: SettingType, table: String?, help: String, notes: String,
                       check: @escaping @Sendable (Int) -> String?) -> Setting {
        Setting(name, type, table: table, help: help, notes: notes, defaultDescription: nil, flag: nil,
                problem: { value in value.number.map(check) ?? "must be a number" },
                get: { .number($0[keyPath: field]) },
                set: { config, value in if let number = value.number { config[keyPath: field] = number } })
    }

    static func list(_ name: String, _ field: Field<[String]>, type: SettingType, table: String? = nil, help: String,
                     notes: String = "", defaultDescription: String? = nil) -> Setting {
        Setting(name, type, table: table, help: help, notes: notes, defaultDescription: defaultDescription, flag: nil,
                problem: { value in
                    guard let items = value.list else { return "must be a list" }
                    return items.allSatisfy({ SettingText.listItemIsValid($0, type: type) }) ? nil : SettingText.listRule(type)
                },
                get: { .list($0[keyPath: field]) },
                set: { config, value in if let items = value.list { config[keyPath: field] = items } })
    }

    static func command(_ name: String, _ field: Field<[String]>, table: String? = nil, help: String, notes: String = "",
                        defaultDescription: String) -> Setting {
        Setting(name, .command, table: table, help: help, notes: notes, defaultDescription: defaultDescription, flag: nil,
                problem: { value in value.list.map(ConfigValidation.hookCommandProblem) ?? "must be a list" },
                get: { config in config[keyPath: field].isEmpty ? nil : .list(config[keyPath: field]) },
                set: { config, value in if let items = value.list { config[keyPath: field] = items } })
    }
}

extension SettingValue {
    var text: String? { if case let .text(text) = self { text } else { nil } }
    var boolean: Bool? { if case let .boolean(flag) = self { flag } else { nil } }
    var number: Int? { if case let .number(number) = self { number } else { nil } }
    var list: [String]? { if case let .list(items) = self { items } else { nil } }
}
