#!/usr/bin/env python3
"""check_troubleshooting: every message recsync can show a user is in docs/TROUBLESHOOTING.md.

    check_troubleshooting.py           report the messages missing from the document; exit 1 if any
    check_troubleshooting.py --list    print every message found, with the rule that found it

It reads Sources/**/*.swift with a small Swift lexer (strings with nested interpolations,
multi-line and raw strings, comments) and finds the string literals that are, or are part of, a
message a user can see: on standard error, in `user.sync.error`, in `recsync status`, `doctor`
or `verify`, or in the log at warning or error level. A literal is a message when the innermost
of these places around it says so:

- an argument of an error value or a message builder (`CLIError(...)`, `ConfigError(...)`,
  `S3Error(.invalidResponse(message: ...))`, `fail(...)`, `logger.warning(...)`, `Finding(...)`,
  ...; see MESSAGE_CALLEES), or an argument with a message label (`message:`, `detail:`,
  `fix:`, `check:`, ...; see MESSAGE_LABELS);
- the body of a declaration that returns message text (`description` of an error type,
  `hint`, `...Problem`, `...Reason`, ...; see MESSAGE_DECLARATIONS);
- the right-hand side of an assignment to a name such as `message`, `hint` or `fix`.

Arguments that are not messages (`metadata:`, `operation:`, `label:`, debug and info log
lines, `preconditionFailure`) are left out (EXCLUDED_*), and so are literals that are looked for
rather than said: subscripts (`environment["HOME"]`), operands of `==`, and `case` patterns.
Literals joined with `+` in one expression count as one message.

Each message is split at its interpolations `\\(...)`; its longest constant fragment, when it
has at least 3 words or 15 characters, must appear verbatim in docs/TROUBLESHOOTING.md (both
with runs of whitespace collapsed to one space; case-sensitive).

Python 3.9 or later, standard library only. Run from anywhere; paths are found from this file.
"""

import os
import re
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = os.path.join(ROOT, "Sources")
DOCUMENT = os.path.join(ROOT, "docs", "TROUBLESHOOTING.md")
DOCUMENT_NAME = "docs/TROUBLESHOOTING.md"

# Fewer messages than this means the scanner broke (a rule that silently stopped matching),
# not that recsync got quieter. It sits close below the count found (about 510), so that one
# rule going quiet is noticed; raise it as messages are added, lower it only with a reason.
MINIMUM_MESSAGES = 470

# A fragment shorter than this (in words and in characters) is not checked: too short to find
# a message by ("cannot read ", "; ").
MINIMUM_WORDS = 3
MINIMUM_CHARACTERS = 15

# Source folders and files that are not part of what users run.
SKIPPED_PATHS = {
    # Developer tools: the fuzzing driver and its targets report broken invariants to developers.
    "Sources/recsync-fuzz/": "the fuzzing driver, a developer tool",
    "Sources/RecsyncFuzzTargets/": "fuzzing targets, a developer tool",
    # An in-memory S3 server for unit tests; the recsync binary never uses it.
    "Sources/RecsyncS3/InMemoryS3Client": "a test double that the recsync binary never uses",
}

# Literals the rules find that are not user-facing messages, each with why. Keep this short:
# a message that a user can meet belongs in the document instead.
ALLOWED = {
    # (fragment as the --list output shows it): reason
    "does not support multipart uploads":
        "default of the S3Client protocol for clients without multipart; the S3 client recsync "
        "runs implements every multipart call",
    "this client cannot copy on the server":
        "default of the S3Client protocol for clients without server-side copy; the S3 client "
        "recsync runs implements CopyObject",
    "s and was stopped":
        "ChildProcess.capture's deadline (\"PROGRAM ran longer than N s and was stopped\"): only "
        "nmcli and mmcli are run that way, and their failures are ignored, never shown",
}

# Calls whose arguments are message text. A name is matched against the end of the dotted callee:
# `warning` matches `logger.warning(...)`, `standardError.write` matches
# `FileHandle.standardError.write(...)`.
MESSAGE_CALLEES = {
    # message builders local to a file
    "fail",            # ConfigInterpreter.fail, TOMLParser.fail: a ConfigError/TOMLError at a position
    "error",           # TOMLParser.error(...), and logger.error / log.error
    "problem",         # MountOptionList's `-o NAME=VALUE: ...` ConfigError
    "wrongType",       # ConfigInterpreter: "NAME in FILE line N must be ..., not ..."
    "stringList",      # ConfigInterpreter: the rule and example of a list setting
    "credentialError",
    "Finding",         # a `recsync doctor` line (not the `ok` ones, see reports_ok)
    "result",          # a `recsync verify` line (not the `ok` ones)
    "offline",         # NetworkState.offline(reason): shown as `paused: offline: REASON`
    # the log at warning level and above
    "warning",
    "critical",
    # standard error
    "standardError.write",
}

# Any callee with a part named like this is an error value: CLIError, CLIError.usage,
# StoreError.invalidPath, S3Error, KeyPatternError.invalidKey, SettingTextProblem, ...
ERROR_TYPE_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9]*(Error|Problem)$")

# Labels of arguments that are message text.
MESSAGE_LABELS = {"message", "detail", "fix", "hint", "error", "check", "problem", "note"}

# Callees and labels whose literals are not messages, checked before the rules above. A callee
# is excluded when any part of it is listed, or its end is (`c.fail`).
EXCLUDED_CALLEES = {
    "debug", "info", "notice", "trace",  # log lines below warning
    "preconditionFailure", "precondition", "fatalError", "assert", "assertionFailure",  # programming errors
    "Logger", "DispatchQueue", "print",
    "DecodingError",   # event log lines that cannot be decoded are shown as they are
    "contains", "hasPrefix", "hasSuffix", "replacingOccurrences", "split",  # text being examined
    "execute", "query", "queryFirst",  # SQL
    "fromErrno", "fromErrnoPublic",    # FSError.fromErrno("OPERATION", SUBJECT): the message is "OPERATION SUBJECT: REASON"
    "c.fail",          # FuseContext.fail(request, error, "OPERATION"): the operation's name
}
EXCLUDED_LABELS = {
    "metadata",        # log metadata: keys and values, not sentences
    "operation",       # S3 and SQLite operation names, interpolated into the messages
    "code",            # S3 error codes, interpolated
    "label", "name", "help", "abstract", "discussion", "commandName", "valueName",
    "notes", "defaultDescription", "flag", "debugDescription",
}

# Declarations (func, var, type) whose bodies are message text.
MESSAGE_DECLARATIONS = [
    re.compile(r"^(.*Problem|problem)$"),     # ConfigValidation.*Problem, MetricsAddress.problem, WaitOutcome.problem
    re.compile(r"^(.*Reason|reason)$"),       # InterfaceClassifier.unusableReason, FolderWalk's reason, PauseReason
    re.compile(r"^.*Warnings$"),              # CredentialsLoader.exposureWarnings
    re.compile(r"^(hint|fix|listRule|pauseDescription|foundDescription|fileError|didYouMean|knownKeys)$"),
]
# `description` is message text in an error type (a type conforming to Error, or named
# ...Error / ...Problem) and in these.
DESCRIBED_TYPES = {"QueueRecovery"}

# Assignments whose right-hand side is message text: `let message = "..."`, `hint = "..."`.
MESSAGE_NAMES = {"message", "hint", "fix", "example", "expected", "suggestion", "whereItGoes", "pausedForGood"}

KEYWORDS_BEFORE_GROUPING = {
    "if", "guard", "while", "switch", "return", "throw", "try", "await", "in", "case", "else",
    "for", "catch", "where", "as", "is", "let", "var", "repeat", "do", "func", "init", "subscript",
}
CONTROL_KEYWORDS = {"if", "guard", "else", "for", "while", "switch", "do", "catch", "repeat", "defer", "get", "set",
                    "willSet", "didSet", "case", "default"}
TYPE_KEYWORDS = {"struct", "enum", "class", "extension", "protocol", "actor"}
MODIFIERS = {"public", "private", "fileprivate", "internal", "package", "static", "class", "final", "override",
             "mutating", "nonmutating", "lazy", "open", "nonisolated", "convenience", "required"}
CONTINUATION_OPERATORS = {"+", "-", "=", "==", "!=", "??", "&&", "||", "->", "?", "+=", "<", ">", "<=", ">=", "..<",
                          "..."}
OPERATOR_CHARACTERS = set("=+-*/%<>!&|^~?.")


class Interpolation:
    """An interpolation `\\(...)` inside a string literal; `source` is its Swift text."""

    def __init__(self, source):
        self.source = source


class Token:
    """One token of Swift source; string literals carry their parts."""

    def __init__(self, kind, text, line, parts=None):
        self.kind = kind      # "id", "num", "str", "op", "open", "close", "nl", "punct"
        self.text = text
        self.line = line
        self.parts = parts    # for "str": constant texts and Interpolations

    def __repr__(self):
        return "Token(%s, %r, %d)" % (self.kind, self.text, self.line)


class LexError(Exception):
    pass


class Lexer:
    """Just enough of Swift's lexical grammar to find every string literal and the brackets
    around it."""

    def __init__(self, text):
        self.text = text
        self.index = 0
        self.line = 1

    def peek(self, offset=0):
        position = self.index + offset
        return self.text[position] if position < len(self.text) else ""

    def advance(self, count=1):
        for _ in range(count):
            if self.index < len(self.text) and self.text[self.index] == "\n":
                self.line += 1
            self.index += 1

    def tokens(self):
        result = []
        while self.index < len(self.text):
            c = self.peek()
            if c == "\n":
                if not result or result[-1].kind != "nl":
                    result.append(Token("nl", "\n", self.line))
                self.advance()
            elif c in " \t\r\f\v":
                self.advance()
            elif c == "/" and self.peek(1) == "/":
                while self.index < len(self.text) and self.peek() != "\n":
                    self.advance()
            elif c == "/" and self.peek(1) == "*":
                self.skip_block_comment()
            elif c == '"' or (c == "#" and self.raw_string_ahead()):
                line = self.line
                parts = self.string_literal()
                result.append(Token("str", "", line, parts))
            elif c.isalpha() or c in "_$" or ord(c) > 127:
                start = self.index
                while self.index < len(self.text) and (self.peek().isalnum() or self.peek() in "_$" or ord(self.peek()) > 127):
                    self.advance()
                result.append(Token("id", self.text[start:self.index], self.line))
            elif c == "`":
                start = self.index
                self.advance()
                while self.index < len(self.text) and self.peek() not in "`\n":
                    self.advance()
                self.advance()
                result.append(Token("id", self.text[start + 1:self.index - 1], self.line))
            elif c.isdigit():
                start = self.index
                while self.index < len(self.text):
                    d = self.peek()
                    if d.isalnum() or d == "_":
                        self.advance()
                    elif d == "." and self.peek(1).isdigit():
                        self.advance()
                    else:
                        break
                result.append(Token("num", self.text[start:self.index], self.line))
            elif c in "([{":
                result.append(Token("open", c, self.line))
                self.advance()
            elif c in ")]}":
                result.append(Token("close", c, self.line))
                self.advance()
            elif c in ",;:@#\\":
                result.append(Token("punct", c, self.line))
                self.advance()
            elif c in OPERATOR_CHARACTERS:
                start = self.index
                while self.index < len(self.text) and self.peek() in OPERATOR_CHARACTERS:
                    if self.peek() == "/" and self.peek(1) in "/*":
                        break
                    self.advance()
                result.append(Token("op", self.text[start:self.index], self.line))
            else:
                self.advance()
        return result

    def skip_block_comment(self):
        depth = 0
        while self.index < len(self.text):
            if self.peek() == "/" and self.peek(1) == "*":
                depth += 1
                self.advance(2)
            elif self.peek() == "*" and self.peek(1) == "/":
                depth -= 1
                self.advance(2)
                if depth == 0:
                    return
            else:
                self.advance()
        raise LexError("unterminated block comment")

    def raw_string_ahead(self):
        offset = 0
        while self.peek(offset) == "#":
            offset += 1
        return self.peek(offset) == '"'

    def string_literal(self):
        """Reads a string literal at the current position; returns its parts."""
        hashes = 0
        while self.peek() == "#":
            hashes += 1
            self.advance()
        multiline = self.text.startswith('"""', self.index)
        self.advance(3 if multiline else 1)
        close = ('"""' if multiline else '"') + "#" * hashes
        escape = "\\" + "#" * hashes
        parts = []
        text = []
        start_line = self.line
        while True:
            if self.index >= len(self.text):
                raise LexError("unterminated string literal starting on line %d" % start_line)
            if self.text.startswith(close, self.index):
                self.advance(len(close))
                break
            c = self.peek()
            if c == "\n" and not multiline:
                raise LexError("unterminated string literal on line %d" % start_line)
            if self.text.startswith(escape, self.index):
                self.advance(len(escape))
                e = self.peek()
                if e == "(":
                    self.advance()
                    if text:
                        parts.append("".join(text))
                        text = []
                    parts.append(Interpolation(self.interpolation()))
                    continue
                self.advance()
                if e == "n":
                    text.append("\n")
                elif e == "t":
                    text.append("\t")
                elif e == "r":
                    text.append("\r")
                elif e == "0":
                    text.append("\0")
                elif e == "u" and self.peek() == "{":
                    end = self.text.index("}", self.index)
                    text.append(chr(int(self.text[self.index + 1:end], 16)))
                    self.advance(end + 1 - self.index)
                elif e == "\n" and multiline:
                    # A line continuation: the next line's indentation goes too.
                    while self.peek() in " \t":
                        self.advance()
                else:
                    text.append(e)  # \" \\ \'
                continue
            text.append(c)
            self.advance()
        if text:
            parts.append("".join(text))
        if multiline:
            parts = drop_delimiter_lines(parts)
        return parts

    def interpolation(self):
        """Reads up to the `)` that closes an interpolation; returns its source."""
        start = self.index
        depth = 1
        while self.index < len(self.text):
            c = self.peek()
            if c == '"' or (c == "#" and self.raw_string_ahead()):
                self.string_literal()
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    source = self.text[start:self.index]
                    self.advance()
                    return source
            self.advance()
        raise LexError("unterminated interpolation")


def drop_delimiter_lines(parts):
    """A multi-line literal's first and last lines are its delimiters' own; drop them. (Its
    indentation stays: runs of whitespace are collapsed before any comparison.)"""
    if parts and isinstance(parts[0], str) and parts[0].startswith("\n"):
        parts[0] = parts[0][1:]
    if parts and isinstance(parts[-1], str):
        trimmed = re.sub(r"\n[ \t]*$", "", parts[-1])
        parts[-1] = trimmed
    return [part for part in parts if not (isinstance(part, str) and part == "")]


def collapse(text):
    return re.sub(r"\s+", " ", text)


class Message:
    """A message found in the source: its parts (text and interpolations) and the rule that found it."""

    def __init__(self, path, line, parts, rule):
        self.path = path
        self.line = line
        self.parts = parts
        self.rule = rule

    def fragments(self):
        result = []
        current = []
        for part in self.parts:
            if isinstance(part, Interpolation):
                result.append("".join(current))
                current = []
            else:
                current.append(part)
        result.append("".join(current))
        return [collapse(fragment).strip() for fragment in result]

    def longest_fragment(self):
        return max(self.fragments(), key=lambda fragment: (len(fragment), len(fragment.split())))

    def is_checked(self):
        fragment = self.longest_fragment()
        return len(fragment.split()) >= MINIMUM_WORDS or len(fragment) >= MINIMUM_CHARACTERS

    def shown(self):
        """The whole message, interpolations written as {...}."""
        text = []
        for part in self.parts:
            text.append("{%s}" % collapse(part.source) if isinstance(part, Interpolation) else part)
        return collapse("".join(text))


class SourceFile:
    """One Swift file's tokens, with each bracket's partner and each token's innermost bracket."""

    def __init__(self, path, text):
        self.path = path
        self.tokens = Lexer(text).tokens()
        self.parent = [-1] * len(self.tokens)
        self.match = {}
        stack = []
        for index, token in enumerate(self.tokens):
            self.parent[index] = stack[-1] if stack else -1
            if token.kind == "open":
                stack.append(index)
            elif token.kind == "close":
                if stack:
                    opener = stack.pop()
                    self.match[opener] = index
                    self.match[index] = opener
                    self.parent[index] = stack[-1] if stack else -1

    # -- navigation ------------------------------------------------------------------------

    def previous(self, index):
        """The index of the token before `index`, newlines skipped."""
        index -= 1
        while index >= 0 and self.tokens[index].kind == "nl":
            index -= 1
        return index

    def following(self, index):
        """The index of the token after `index`, newlines skipped."""
        index += 1
        while index < len(self.tokens) and self.tokens[index].kind == "nl":
            index += 1
        return index

    def token(self, index):
        if 0 <= index < len(self.tokens):
            return self.tokens[index]
        return Token("none", "", 0)

    def statement_start(self, index):
        """The first token of the statement holding `index`, at `index`'s own bracket depth."""
        j = index
        while True:
            k = j - 1
            if k < 0:
                return j
            t = self.tokens[k]
            if t.kind == "close" and t.text in ")]":
                j = self.match.get(k, k)
                continue
            if t.kind == "close" and k in self.match and self.token(self.following(k)).kind == "op":
                # A closure inside an expression: `x.map { ... } ?? "..."`, `{ ... }()`.
                j = self.match[k]
                continue
            if t.kind == "close" or t.kind == "open" or (t.kind == "punct" and t.text == ";"):
                return j
            if t.kind == "nl":
                before = self.token(self.previous(k + 1))
                after = self.token(j)
                continues = (before.kind == "op" and before.text in CONTINUATION_OPERATORS) \
                    or (before.kind == "punct" and before.text == ",") \
                    or (after.kind == "op" and (after.text.startswith(".") or after.text in CONTINUATION_OPERATORS)) \
                    or (after.kind == "punct" and after.text == ":") \
                    or (after.kind == "id" and after.text in ("where", "throws", "rethrows", "async"))
                if not continues:
                    return j
            j = k

    def same_depth(self, start, end):
        """Indexes from `start` up to `end` (excluded) at `start`'s depth, bracket groups skipped."""
        result = []
        i = start
        while i < end:
            result.append(i)
            t = self.tokens[i]
            if t.kind == "open" and i in self.match:
                i = self.match[i]
            i += 1
        return result

    # -- what a bracket is -----------------------------------------------------------------

    def callee(self, opener):
        """The dotted name called with the `(` at `opener`, or None for a grouping or tuple."""
        j = opener - 1
        t = self.token(j)
        if t.kind != "id" or t.text in KEYWORDS_BEFORE_GROUPING:
            return None
        names = [t.text]
        k = j - 1
        while True:
            dot = self.token(k)
            if dot.kind != "op" or not dot.text.endswith("."):
                break
            before = self.token(k - 1)
            if dot.text == "." and before.kind == "id" and before.text not in KEYWORDS_BEFORE_GROUPING:
                names.insert(0, before.text)
                k -= 2
            elif before.kind == "close" and before.text in ")]" and (k - 1) in self.match:
                k = self.match[k - 1] - 1
                if self.token(k).kind == "id":
                    names.insert(0, self.token(k).text)
                    k -= 1
                else:
                    break
            else:
                names[0] = "." + names[0]
                break
        return ".".join(names)

    def argument_label(self, opener, inner):
        """The label of the argument of the bracket at `opener` that holds token `inner`."""
        i = inner
        while i > opener + 1:
            t = self.tokens[i - 1]
            if t.kind == "punct" and t.text == "," and self.parent[i - 1] == opener:
                break
            i -= 1
        i = self.following(i - 1)
        if self.token(i).kind == "id" and self.token(i + 1).kind == "punct" and self.token(i + 1).text == ":":
            return self.token(i).text
        return None

    def reports_ok(self, opener):
        """Whether a Finding(...) or result(...) call reports something that is fine (`.ok`)."""
        for i in self.same_depth(opener + 1, self.match.get(opener, len(self.tokens))):
            t = self.tokens[i]
            if t.kind == "op" and t.text == "." and self.token(i + 1).text == "ok":
                before = self.token(self.previous(i))
                after = self.token(self.following(i + 1))
                if before.text in ("(", ",", ":") and after.text in (",", ")"):
                    return True
        return False

    def declaration(self, opener):
        """What the `{` at `opener` opens: ("type", name, is_error), ("decl", name), or None."""
        start = self.statement_start(opener)
        indexes = self.same_depth(start, opener)
        words = [self.tokens[i] for i in indexes]
        for position, t in enumerate(words):
            if t.kind == "id" and t.text in TYPE_KEYWORDS and position + 1 < len(words):
                name = words[position + 1].text
                is_error = bool(ERROR_TYPE_PATTERN.match(name)) or any(
                    w.kind == "id" and w.text in ("Error", "LocalizedError") for w in words[position + 2:])
                return ("type", name, is_error)
        first = next((t for t in words if t.kind == "id" and t.text not in MODIFIERS), None)
        if first is None or first.text in CONTROL_KEYWORDS:
            return None
        for position, t in enumerate(words):
            if t.kind == "id" and t.text in ("func", "var", "let") and position + 1 < len(words):
                if t.text != "func" and any(w.kind == "op" and w.text == "=" for w in words):
                    return None  # a closure assigned to a stored property
                return ("decl", words[position + 1].text)
            if t.kind == "id" and t.text in ("init", "subscript"):
                return ("decl", t.text)
        return None

    def enclosing_type(self, index):
        frame = self.parent[index]
        while frame >= 0:
            if self.tokens[frame].text == "{":
                declaration = self.declaration(frame)
                if declaration and declaration[0] == "type":
                    return declaration
            frame = self.parent[frame]
        return None

    def assigned_name(self, holder):
        """The name that the statement holding token `holder` assigns to, if any."""
        start = self.statement_start(holder)
        indexes = self.same_depth(start, holder)
        words = [self.tokens[i] for i in indexes]
        for position, t in enumerate(words):
            if t.kind == "id" and t.text in ("let", "var") and position + 1 < len(words):
                return words[position + 1].text
            if t.kind == "op" and t.text in ("=", "+=") and position > 0 and words[position - 1].kind == "id":
                return words[position - 1].text
        return None

    # -- deciding --------------------------------------------------------------------------

    def is_subscript(self, opener):
        """Whether the `[` at `opener` is a subscript (`environment["HOME"]`), not an array."""
        before = self.token(opener - 1)
        return (before.kind == "id" and before.text not in KEYWORDS_BEFORE_GROUPING) \
            or (before.kind == "close" and before.text in ")]") or (before.kind == "op" and before.text in ("?", "!"))

    def is_compared(self, index):
        """Whether the literal at `index` is an operand of == or != (a value looked for, not said)."""
        return self.token(index - 1).text in ("==", "!=", "~=") or self.token(index + 1).text in ("==", "!=", "~=")

    def in_case_pattern(self, index):
        """Whether the literal at `index` is a pattern of a switch's `case` (`case "NoSuchBucket":`)."""
        start = self.statement_start(index)
        if self.token(start).text != "case":
            return False
        return not any(self.tokens[i].text in (":", "=") and self.tokens[i].kind in ("punct", "op")
                       for i in self.same_depth(start, index))

    def classify(self, index):
        """Why the literal at `index` is a message ("callee CLIError", ...), or None."""
        if self.is_compared(index) or self.in_case_pattern(index):
            return None
        node = index
        frame = self.parent[index]
        while True:
            if frame < 0 or self.tokens[frame].text == "{":
                name = self.assigned_name(node)
                if name in MESSAGE_NAMES:
                    return "assignment to %s" % name
                if frame < 0:
                    return None
                declaration = self.declaration(frame)
                if declaration:
                    decided = self.declaration_rule(frame, declaration)
                    if decided is not None:
                        return decided or None
            elif self.tokens[frame].text == "(":
                decided = self.call_rule(frame, node)
                if decided is not None:
                    return decided or None
            elif self.tokens[frame].text == "[" and self.is_subscript(frame):
                return None
            node = frame
            frame = self.parent[frame]

    def declaration_rule(self, frame, declaration):
        """A reason when the body of `declaration` (at the `{` at `frame`) is message text, else None."""
        if declaration[0] == "type":
            return ("type %s" % declaration[1]) if any(p.match(declaration[1]) for p in MESSAGE_DECLARATIONS) else None
        name = declaration[1]
        if any(p.match(name) for p in MESSAGE_DECLARATIONS):
            return "declaration %s" % name
        if name in ("description", "errorDescription"):
            owner = self.enclosing_type(frame)
            if owner and (owner[2] or owner[1] in DESCRIBED_TYPES):
                return "%s.%s" % (owner[1], name)
        return None

    def call_rule(self, frame, node):
        """For a literal in the call or tuple at `frame`: a reason to include it, "" to exclude it,
        or None when this bracket decides nothing."""
        label = self.argument_label(frame, node)
        callee = self.callee(frame)
        parts = callee.lstrip(".").split(".") if callee else []
        suffixes = {".".join(parts[i:]) for i in range(len(parts))}
        if label in EXCLUDED_LABELS:
            return ""
        if any(part in EXCLUDED_CALLEES for part in parts) or suffixes & EXCLUDED_CALLEES:
            return ""
        if callee and self.reports_ok(frame):
            return ""
        if label in MESSAGE_LABELS:
            return "label %s:" % label
        if callee:
            named = bool(suffixes & MESSAGE_CALLEES)
            typed = any(ERROR_TYPE_PATTERN.match(part) for part in parts)
            if named or typed:
                return "callee %s" % callee
            return None
        # A tuple (.warning, "message", metadata) logged later (EventLog).
        first = self.token(self.following(frame))
        second = self.token(self.following(frame) + 1)
        if first.kind == "op" and first.text == "." and second.text in ("warning", "error"):
            return "logged tuple"
        return None

    def messages(self, relative):
        found = []
        index = 0
        while index < len(self.tokens):
            token = self.tokens[index]
            if token.kind != "str":
                index += 1
                continue
            parts = list(token.parts)
            last = index
            # "a " + "b": one message.
            while True:
                plus = self.following(last)
                after = self.following(plus)
                if self.token(plus).kind == "op" and self.token(plus).text == "+" and self.token(after).kind == "str":
                    parts += self.tokens[after].parts
                    last = after
                else:
                    break
            rule = self.classify(index)
            if rule:
                merged = []
                for part in parts:
                    if merged and isinstance(part, str) and isinstance(merged[-1], str):
                        merged[-1] += part
                    else:
                        merged.append(part)
                found.append(Message(relative, token.line, merged, rule))
            index = last + 1
        return found


def skipped(relative):
    return any(relative.startswith(prefix) for prefix in SKIPPED_PATHS)


def find_messages():
    messages = []
    for folder, directories, files in os.walk(SOURCES):
        directories.sort()
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, ROOT).replace(os.sep, "/")
            if skipped(relative):
                continue
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                text = handle.read()
            try:
                source = SourceFile(relative, text)
            except LexError as error:
                sys.exit("%s: cannot read this Swift file: %s" % (relative, error))
            messages += source.messages(relative)
    return messages


def main(arguments):
    listing = "--list" in arguments
    unknown = [argument for argument in arguments if argument != "--list"]
    if unknown:
        sys.exit("usage: check_troubleshooting.py [--list]")
    messages = [message for message in find_messages() if message.is_checked()]
    if len(messages) < MINIMUM_MESSAGES:
        print("troubleshooting: only %d messages found in Sources/, expected at least %d: the scanner in %s "
              "no longer recognises recsync's messages; fix it before trusting its verdict"
              % (len(messages), MINIMUM_MESSAGES, os.path.relpath(__file__, ROOT)), file=sys.stderr)
        return 2
    try:
        with open(DOCUMENT, encoding="utf-8") as handle:
            document = collapse(handle.read())
    except OSError as error:
        print("troubleshooting: cannot read %s (%s); every message counts as missing" % (DOCUMENT_NAME, error.strerror),
              file=sys.stderr)
        document = ""
    allowed_used = set()
    missing = []
    allowed = 0
    for message in messages:
        fragment = message.longest_fragment()
        if fragment in ALLOWED:
            allowed_used.add(fragment)
            allowed += 1
            state = "allowed"
        elif fragment in document:
            state = "documented"
        else:
            missing.append(message)
            state = "MISSING"
        if listing:
            print("%s:%d: [%s] %s\n    %s" % (message.path, message.line, state, message.rule, message.shown()))
    for message in missing:
        print('%s:%d: not in %s: "%s"' % (message.path, message.line, DOCUMENT_NAME, message.longest_fragment()))
    for fragment in sorted(set(ALLOWED) - allowed_used):
        print('%s: allow-list entry matches no message any more; remove it: "%s"'
              % (os.path.relpath(__file__, ROOT), fragment))
    if allowed:
        print("troubleshooting: %d literals allow-listed as not user-facing (ALLOWED in %s)"
              % (allowed, os.path.relpath(__file__, ROOT)))
    total = len(messages) - allowed
    print("troubleshooting: %d messages, %d documented, %d missing" % (total, total - len(missing), len(missing)))
    return 1 if missing or set(ALLOWED) - allowed_used else 0


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `--list | head` ends quietly
    sys.exit(main(sys.argv[1:]))
