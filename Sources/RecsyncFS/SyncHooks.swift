import FoundationEssentials

/// What the passthrough core tells the sync engine, and asks of it.
///
/// Paths are relative to the mount root, without a leading slash (`sub/take1.wav`).
/// The core calls these without holding any of its own locks.
public protocol SyncHooks: AnyObject, Sendable {
    /// The last writer of a changed file closed it. Must be durable when it returns:
    /// close() returns to the application right after. Throwing fails the close with the error.
    /// `stillOpen` is true when a writer handle is not released yet (the kernel releases
    /// handles after close() returns, and a duplicated descriptor may still write): the file
    /// must not be uploaded before `fileWritersReleased` says the handles are gone.
    func fileWasWritten(path: String, stillOpen: Bool) throws

    /// Every writer handle of the file has been released by the kernel.
    func fileWritersReleased(path: String)

    /// Runs a change of names (the system call and the hook that reports it) so that nobody
    /// sees the disk changed while the queue does not know it yet.
    func namespaceChange<T>(_ body: () throws -> T) throws -> T

    /// A file or folder was renamed inside the mount.
    func itemRenamed(from: String, to: String, isDirectory: Bool) throws

    /// Two names swapped what they stand for (renameat2 with RENAME_EXCHANGE): files, folders or
    /// one of each. What now stands at each name, and below it, is new content for that name.
    func itemsExchanged(_ first: String, _ second: String) throws

    /// A file or empty folder was removed (the path no longer exists).
    func itemRemoved(path: String, isDirectory: Bool) throws

    /// Returns the value of a `user.sync.*` attribute, or nil when it does not exist for this file.
    /// `caller` is who asks (nil: the daemon itself), for answers that depend on their rights.
    func syncAttribute(path: String, name: String, isDirectory: Bool, caller: PassthroughFS.Caller?) throws -> String?

    /// Names of the `user.sync.*` attributes the file has, for `caller`.
    func syncAttributeNames(path: String, isDirectory: Bool, caller: PassthroughFS.Caller?) -> [String]

    /// Sets a `user.sync.*` attribute; throws EPERM for read-only ones.
    func setSyncAttribute(path: String, name: String, value: [UInt8]) throws

    /// A file's content started to change (its first write, truncate or creation since it was
    /// last queued). Until `fileWasWritten` it is reported as `local` and is not uploaded.
    func fileIsBeingWritten(path: String)

    /// A file was opened for writing (an existing file reopened: a recorder patching its header,
    /// an editor saving in place). It may change at any moment until its writers are released.
    func fileOpenedForWriting(path: String)

    /// A hard link gave an existing file another name: a name the bucket should have too.
    func fileLinked(path: String) throws
}

extension SyncHooks {
    public func fileOpenedForWriting(path: String) {}
    public func fileLinked(path: String) throws {}

    /// Without an engine to keep in step, a change of names needs no lock.
    public func namespaceChange<T>(_ body: () throws -> T) throws -> T { try body() }
}
