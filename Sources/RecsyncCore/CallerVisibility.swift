import FoundationEssentials
import RecsyncFS
import Glibc

/// Whether a caller could read a file's `user.sync.status` themselves: the kernel asks for
/// search permission on every folder on the way and read permission on the file. A folder's
/// status counts only the files its caller passes this for, so it tells nobody about files they
/// could not ask about one by one.
///
/// The bits are checked as the kernel checks them without ACLs: the owner's class when the
/// caller owns the entry, else the group's when the caller is in its group, else the others'.
/// Root passes. When the caller's groups cannot be read, a file whose group bits deny what its
/// other bits allow is not seen (the caller may be in that group). At most `budget` files are
/// checked; the folder status then answers with the status it was looking at, never `synced`.
struct CallerVisibility {
    let rootFd: Int32
    let folder: String
    let caller: PassthroughFS.Caller?
    private(set) var budget: Int
    private var groups: [gid_t]??
    private var searchable: [PathKey: Bool] = [:]

    init(rootFd: Int32, folder: String, caller: PassthroughFS.Caller?, budget: Int) {
        self.rootFd = rootFd
        self.folder = folder
        self.caller = caller
        self.budget = budget
    }

    /// Whether the caller may read the status of `path`, a file under `folder`.
    mutating func sees(_ path: String) -> Bool {
        guard let caller, caller.uid != 0, budget > 0 else { return true }
        budget -= 1
        var parent = folder
        let start = folder.isEmpty ? 0 : folder.utf8.count + 1
        let rest = Array(path.utf8.dropFirst(start))
        for component in rest.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropLast() {
            guard canSearch(parent, caller) else { return false }
            let name = String(decoding: component, as: UTF8.self)
            parent = parent.isEmpty ? name : parent + "/" + name
        }
        guard canSearch(parent, caller) else { return false }
        var st = stat()
        guard Beneath.stat(rootFd, path, &st) == 0 else { return false }
        return allows(st, caller, want: 4)
    }

    private mutating func canSearch(_ folder: String, _ caller: PassthroughFS.Caller) -> Bool {
        if let known = searchable[PathKey(folder)] { return known }
        var st = stat()
        let found = folder.isEmpty ? fstat(rootFd, &st) == 0 : Beneath.stat(rootFd, folder, &st) == 0
        let result = found && allows(st, caller, want: 1)
        searchable[PathKey(folder)] = result
        return result
    }

    /// `want` is 4 (read) or 1 (search), shifted into the class that applies to the caller.
    private mutating func allows(_ st: stat, _ caller: PassthroughFS.Caller, want: mode_t) -> Bool {
        if caller.uid == st.st_uid { return st.st_mode & (want << 6) != 0 }
        let groups = callerGroups(caller)
        if caller.gid == st.st_gid || groups?.contains(st.st_gid) == true {
            return st.st_mode & (want << 3) != 0
        }
        if groups == nil && st.st_mode & (want << 3) == 0 { return false }  // perhaps a member
        return st.st_mode & want != 0
    }

    private mutating func callerGroups(_ caller: PassthroughFS.Caller) -> [gid_t]? {
        if let groups { return groups }
        let read = caller.groups()
        groups = .some(read)
        return read
    }
}
