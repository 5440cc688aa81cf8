import CSysShims
import FoundationEssentials
import RecsyncFS
import Glibc

/// Lists what lies below a folder of the backing tree, without following symlinks: regular
/// files (the ones recsync uploads) and the other items a folder may hold.
struct FolderWalk {
    let rootFd: Int32

    /// One item below the folder. `kind` is nil for a regular file.
    struct Item: Equatable {
        let path: String
        let mode: mode_t

        var kind: Kind? { Kind(mode) }
    }

    /// What an item that is not a regular file is, and why it stays local.
    enum Kind: Equatable {
        case symlink, fifo, socket, characterDevice, blockDevice

        init?(_ mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFLNK: self = .symlink
            case S_IFIFO: self = .fifo
            case S_IFSOCK: self = .socket
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            default: return nil
            }
        }

        var name: String {
            switch self {
            case .symlink: return "symbolic link"
            case .fifo: return "FIFO"
            case .socket: return "socket"
            case .characterDevice: return "character device"
            case .blockDevice: return "block device"
            }
        }

        var reason: String {
            switch self {
            case .symlink: return "recsync uploads the files themselves, not links to them"
            default: return "a special file has no content to upload, and the kernel allows no user.* attributes on it"
            }
        }
    }

    /// Regular files, sorted.
    func files(under folder: String) -> [String] {
        items(under: folder).filter { $0.kind == nil }.map(\.path)
    }

    /// Regular files and every other item except folders, sorted by path.
    func items(under folder: String) -> [Item] {
        var result: [Item] = []
        walk(folder, into: &result)
        return result.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private func walk(_ folder: String, into result: inout [Item]) {
        let fd = Beneath.open(rootFd, folder, O_RDONLY | recsync_O_DIRECTORY | recsync_O_NOFOLLOW)
        guard fd >= 0, let stream = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            return
        }
        defer { closedir(stream) }
        var folders: [String] = []
        while let entry = readdir(stream) {
            let name = NameCoding.text(entry: entry)
            if name == "." || name == ".." { continue }
            let path = folder.isEmpty ? name : folder + "/" + name
            var st = stat()
            guard NameCoding.withCString(name, { fstatat(fd, $0, &st, recsync_AT_SYMLINK_NOFOLLOW) }) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                folders.append(path)
            } else {
                result.append(Item(path: path, mode: st.st_mode))
            }
        }
        for child in folders { walk(child, into: &result) }
    }
}
